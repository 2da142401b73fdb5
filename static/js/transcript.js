// The transcript page's entry: its player, where segments have recordings, and what the apps
// above the core add to it (features.js: a summary's progress while one is being written). Each
// starts only where the page has it.
import { startFeatures } from "./features.js";
import { startTranscriptAudio } from "./transcript-audio.js";

startTranscriptAudio();
startFeatures({});
