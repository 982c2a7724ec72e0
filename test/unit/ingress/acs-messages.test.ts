import { describe, expect, it } from 'vitest';
import { ACS_STOP_AUDIO, acsAudioMessage, parseAcsMessage } from '../../../src/ingress/acs/messages.js';

describe('ACS media streaming messages', () => {
  it('parses AudioMetadata, AudioData (mixed and unmixed) and DtmfData', () => {
    expect(parseAcsMessage('{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"s1","encoding":"PCM","sampleRate":24000,"channels":1,"length":960}}')).toEqual({ kind: 'AudioMetadata', sampleRate: 24000, length: 960, subscriptionId: 's1' });
    const pcm = Int16Array.from([1, -2, 300]);
    const data = Buffer.from(pcm.buffer).toString('base64');
    const unmixed = parseAcsMessage(JSON.stringify({ kind: 'AudioData', audioData: { timestamp: '2026-01-01T10:00:00.020Z', participantRawID: '8:acs:abc', data, silent: false } }));
    expect(unmixed).toMatchObject({ kind: 'AudioData', timestampMs: Date.parse('2026-01-01T10:00:00.020Z'), participantRawId: '8:acs:abc', silent: false });
    expect(Array.from(new Int16Array(new Uint8Array((unmixed as { data: Buffer }).data).buffer))).toEqual([1, -2, 300]);
    expect(parseAcsMessage(JSON.stringify({ kind: 'AudioData', audioData: { timestamp: '2026-01-01T10:00:00Z', data, silent: true } }))).toMatchObject({ participantRawId: null, silent: true });
    expect(parseAcsMessage('{"kind":"DtmfData","dtmfData":{"data":"#","participantRawID":"4:+15551234567"}}')).toEqual({ kind: 'DtmfData', tone: '#', participantRawId: '4:+15551234567', timestampMs: null });
  });

  it('accepts the PascalCase keys of the .NET SDK', () => {
    expect(parseAcsMessage('{"Kind":"AudioMetadata","AudioMetadata":{"Encoding":"PCM","SampleRate":16000,"Channels":1,"Length":640}}')).toMatchObject({ kind: 'AudioMetadata', sampleRate: 16000 });
    expect(parseAcsMessage('{"Kind":"AudioData","AudioData":{"Timestamp":"2026-01-01T10:00:00Z","ParticipantRawID":"8:acs:x","Data":"AAA=","Silent":false}}')).toMatchObject({ kind: 'AudioData', participantRawId: '8:acs:x' });
  });

  it('passes other kinds through as Other', () => {
    expect(parseAcsMessage('{"kind":"TranscriptionMetadata","transcriptionMetadata":{}}')).toEqual({ kind: 'Other', name: 'TranscriptionMetadata' });
  });

  it.each([
    ['not JSON', '{', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
    ['no kind', '{"audioData":{}}', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
    ['a rate ACS does not send', '{"kind":"AudioMetadata","audioMetadata":{"sampleRate":8000}}', 'MEDIABOT_INGRESS_BAD_RATE'],
    ['stereo', '{"kind":"AudioMetadata","audioMetadata":{"sampleRate":16000,"channels":2}}', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
    ['data that is not base64', '{"kind":"AudioData","audioData":{"timestamp":"2026-01-01T10:00:00Z","data":"@@@"}}', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
    ['a bad timestamp', '{"kind":"AudioData","audioData":{"timestamp":"soon","data":"AAA="}}', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
    ['audioData not an object', '{"kind":"AudioData","audioData":"x"}', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
    ['a DTMF string of several tones', '{"kind":"DtmfData","dtmfData":{"data":"12"}}', 'MEDIABOT_INGRESS_BAD_MESSAGE'],
  ])('rejects %s', (_what, text, code) => {
    expect(() => parseAcsMessage(text)).toThrowError(expect.objectContaining({ code }));
  });

  it('writes outbound AudioData and StopAudio in the shape ACS reads', () => {
    const msg = JSON.parse(acsAudioMessage(Int16Array.from([5, -5]))) as { kind: string; audioData: { data: string } };
    expect(msg.kind).toBe('AudioData');
    expect(Array.from(Buffer.from(msg.audioData.data, 'base64'))).toEqual([5, 0, 0xfb, 0xff]);
    expect(JSON.parse(ACS_STOP_AUDIO)).toEqual({ kind: 'StopAudio', stopAudio: {} });
  });
});
