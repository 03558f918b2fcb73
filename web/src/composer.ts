export interface ComposerOptions {
  /** Characters per message (the server's MAX_MESSAGE_LENGTH). */
  readonly maxLength: number;
  /** Invoked with the trimmed text when the user sends (Enter, or the Send button). */
  onSend(text: string): void;
  /** Invoked when the user changed the name field (anonymous visitors only). */
  onName(name: string): void;
  /** Invoked when a text is too long to send. */
  onTooLong(maxLength: number): void;
}

/**
 * The composer (`#composer`): the name field labelled "Name", the message box labelled "Message"
 * and the "Send" button. Enter sends; Shift+Enter starts a new line; an IME composition is left
 * alone.
 *
 * @example
 * const composer = new Composer(form, { maxLength: 2000, onSend: send, onName: rename, onTooLong: warn });
 * composer.setEnabled(false); // a read-only room
 */
export class Composer {
  private readonly box: HTMLTextAreaElement;
  private readonly button: HTMLButtonElement;
  private readonly nameInput: HTMLInputElement;

  constructor(
    private readonly form: HTMLFormElement,
    private readonly options: ComposerOptions,
  ) {
    this.box = form.querySelector('#message')!;
    this.button = form.querySelector('#send')!;
    this.nameInput = form.querySelector('#name')!;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    this.nameInput.addEventListener('change', () => {
      if (!this.nameInput.readOnly) options.onName(this.nameInput.value.trim());
    });
  }

  /** The name in the name field, trimmed. */
  get name(): string {
    return this.nameInput.value.trim();
  }

  /** Fills an empty name field (with the name remembered from an earlier visit). */
  suggestName(name: string): void {
    if (this.nameInput.value === '' && !this.nameInput.readOnly) this.nameInput.value = name;
  }

  /** Shows the name the server gave an anonymous visitor who chose none, as a hint. */
  showAssignedName(name: string): void {
    if (this.nameInput.value === '') this.nameInput.placeholder = name;
  }

  /** The name comes from the user's sign-in: shown, and read-only. */
  fixName(name: string): void {
    this.nameInput.value = name;
    this.nameInput.readOnly = true;
  }

  /** Enables or disables the message box and the Send button. */
  setEnabled(enabled: boolean): void {
    this.box.disabled = !enabled;
    this.button.disabled = !enabled;
  }

  focus(): void {
    if (!this.box.disabled) this.box.focus();
  }

  private submit(): void {
    if (this.box.disabled) return;
    const text = this.box.value.trim();
    if (text === '') return;
    if ([...text].length > this.options.maxLength) {
      this.options.onTooLong(this.options.maxLength);
      return;
    }
    this.box.value = '';
    this.options.onSend(text);
    this.box.focus();
  }
}
