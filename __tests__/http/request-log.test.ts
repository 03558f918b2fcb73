import { loggableUrl } from '../../server/http/request-log';

describe('loggableUrl(url)', () => {
  it('redacts a token in the query however its name is spelled', () => {
    expect(loggableUrl('/api/rooms/a/events?token=abc.def.ghi&since=3')).toBe('/api/rooms/a/events?token=[redacted]&since=3');
    expect(loggableUrl('/x?limit=1&%74oken=abc.def')).toBe('/x?limit=1&token=[redacted]');
    expect(loggableUrl('/x?TOKEN=abc')).toBe('/x?TOKEN=[redacted]');
  });

  it('leaves a URL without secrets as it is', () => {
    expect(loggableUrl('/api/rooms/a/messages?since=3&epoch=E')).toBe('/api/rooms/a/messages?since=3&epoch=E');
    expect(loggableUrl('/healthz')).toBe('/healthz');
  });
});
