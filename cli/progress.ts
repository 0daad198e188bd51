/**
 * Internal to the `npy` command: its one-line progress bar, with the rate and time left as
 * `pv` and `rsync --progress` show them.
 *
 * @module
 */

/** Where the bar is drawn: the command's stderr, when it is a terminal. */
export interface BarOutput {
  /** Whether to draw at all (stderr is a terminal, and no `--quiet`). */
  readonly progress: boolean;
  /** Terminal width. */
  readonly columns: number;
  /** Draws the bar's line (`\r` first), or clears it with `undefined`. */
  bar(text: string | undefined): void;
}

/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export class ProgressBar {
  #io: BarOutput;
  #label: string;
  #last = 0;
  #started = Date.now();

  constructor(io: BarOutput, label: string) {
    this.#io = io;
    this.#label = label;
  }

  update(done: number, total: number): void {
    if (!this.#io.progress) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    this.#io.bar(`\r${barText(this.#label, done, total, now - this.#started, this.#io.columns)}`);
  }

  clear(): void {
    this.#io.bar(undefined);
  }
}

/**
 * The bar's line: `concat [####----]  42%  1.2 GiB / 2.9 GiB  310 MiB/s  ETA 0:06`, as `pv`
 * and `rsync --progress` show rate and time left (both once a quarter second has passed).
 */
export function barText(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  columns: number,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  let tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${bytesText(done)} / ${
    bytesText(total)
  }`;
  if (elapsedMs >= 250 && done > 0) {
    const rate = done / (elapsedMs / 1000);
    tail += `  ${bytesText(Math.round(rate))}/s  ETA ${clockText((total - done) / rate)}`;
  }
  const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const filled = Math.round(fraction * width);
  return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}]${tail}`;
}

/** `0:06`, `12:30`, `1:02:03`: seconds left, as `pv` prints them. */
function clockText(seconds: number): string {
  const t = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/** `812 B`, `1.5 KiB`, `310 MiB`: sizes as the command prints them. */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) v /= 1024, u++;
  return `${v < 100 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
