import { WebSocketHandler } from './websocket-handler';

/**
 * The smallest handler: it says hello and echoes every message back. It is the README's
 * example of writing a handler, and the tests use it to exercise the base class.
 */
export class EchoHandler extends WebSocketHandler {
  override open(): void {
    this.writeMessage({ type: 'hello', path: this.request.params });
  }

  override onMessage(message: string): void {
    this.writeMessage(message);
  }
}
