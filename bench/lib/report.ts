/** Printing helpers: every figure beside the baseline's and their ratio. */

/** `ours / base` as `1.23×`, or `n/a`. */
export const ratio = (ours: number, base: number): string =>
  Number.isFinite(ours) && Number.isFinite(base) && base > 0 ? `${(ours / base).toFixed(2)}×` : 'n/a';

/** Pads to a column width. */
export const pad = (s: string | number, n: number): string => String(s).padEnd(n);

/** A number as a table shows it: integers with separators, small ones with 2–3 significant digits. */
export function fmt(v: number | string | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (Math.abs(v) >= 10) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/**
 * Prints a table: one row per figure, one column per server, and after each column but the
 * baseline (the last one) its ratio to the baseline.
 */
/** Rows whose ratio would mean nothing (counts of failures, the generator's and machine's CPU). */
const NO_RATIO = /lost|failed|wrong|told gap|out of order|behind|generator|machine|other processes/;

export function printTable(title: string, columns: string[], rows: Array<[string, ...Array<number | string | undefined>]>, noRatio: string[] = []): void {
  console.log(`\n## ${title}`);
  const base = columns.length - 1;
  const w = Math.max(14, ...columns.map((c) => c.length + 2));
  const head = [pad('figure', 36)];
  columns.forEach((c, i) => {
    head.push(pad(c, w));
    if (i < base) head.push(pad('÷ baseline', 12));
  });
  console.log(head.join(''));
  for (const [name, ...values] of rows) {
    const line = [pad(name, 36)];
    values.forEach((v, i) => {
      line.push(pad(fmt(v), w));
      if (i < base) {
        const b = values[base];
        const skip = noRatio.includes(name) || NO_RATIO.test(name);
        line.push(pad(typeof v === 'number' && typeof b === 'number' && !skip ? ratio(v, b) : '', 12));
      }
    });
    console.log(line.join(''));
  }
}
