// The experiments room: shadow runs and A/B splits of an agent's traffic, the
// judge, and the switching report (docs/experiments.md).
// Wiring (app.ts):
//   const experiments = new Experiments({ store: new ExperimentStore(store.roomTables()), router, prices, rates, agent, feedback, onError });
//   await experiments.start();  runtime deps: { experiments }  (variantFor before a reply, observe after it)
//   shutdown: await experiments.close() before the ledger closes.
export { Experiments, type ExperimentsDeps } from './experiments.ts';
export { ExperimentStore, type ExperimentRow, type ExperimentTurnRow } from './experiment-store.ts';
export { reportCsv, type ConversationOutcome } from './report.ts';
export type { LiveTurn } from './replay.ts';
// For the datasets room: replaying a turn, judging it, and the report's statistics.
export { replayTurn, type CandidateSettings, type ReplayResult } from './replay.ts';
export { lexicalGrounding } from './grounding.ts';
export { judgeGrounding, judgePreference, type AskJudge } from './judge.ts';
export { meanInterval, signTest, twoProportionZ, welch, wilson } from './stats.ts';
