// Runs on the audio thread: turns the microphone's float samples into 16-bit PCM
// and hands the page one ~100 ms frame at a time, with the frame's level for the meter.

class PcmCaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const frameMs = (options.processorOptions && options.processorOptions.frameMs) || 100;
    this.frameSize = Math.round((sampleRate * frameMs) / 1000);
    this.frame = new Int16Array(this.frameSize);
    this.filled = 0;
    this.sumSquares = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true; // no input yet (device starting): keep the node alive
    for (let i = 0; i < channel.length; i++) {
      const sample = Math.max(-1, Math.min(1, channel[i]));
      this.sumSquares += sample * sample;
      this.frame[this.filled++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
      if (this.filled === this.frameSize) this.flush();
    }
    return true;
  }

  flush() {
    const level = Math.sqrt(this.sumSquares / this.frameSize);
    const pcm = this.frame.buffer;
    this.port.postMessage({ pcm, level }, [pcm]); // transferred: the old view is now empty
    this.frame = new Int16Array(this.frameSize);
    this.filled = 0;
    this.sumSquares = 0;
  }
}

registerProcessor("pcm-capture", PcmCaptureProcessor);
