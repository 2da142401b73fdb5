// The transcript page's entry: its player, where segments have recordings, and the summary's
// progress while one is being written. Each starts only where the page has it.
import { followSummaryProgress } from "./summary.js";
import { startTranscriptAudio } from "./transcript-audio.js";

startTranscriptAudio();
followSummaryProgress();
