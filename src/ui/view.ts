import type { Topic } from './types';

/** One page of the dashboard. `mount` builds the controls once; `refresh` re-reads the API and redraws the data. */
export interface View {
  id: string;
  title: string;
  /** Live topics that make this view re-read. */
  topics: Topic[];
  /** Re-read every this many ms even without live notices (ages, rates); 0: only on notices. */
  tickMs: number;
  mount(root: HTMLElement): void;
  refresh(): Promise<void>;
}
