import { findToken } from '../../server/auth/credentials';

describe('findToken(request)', () => {
  const all = {
    headers: { authorization: 'Bearer from-header', 'sec-websocket-protocol': 'chat, bearer.from-protocol', cookie: 'chat_token=from-cookie' },
    query: { token: 'from-query' },
  };

  it('takes the first carrier found: Authorization, subprotocol, cookie, query', () => {
    expect(findToken(all)).toEqual({ token: 'from-header', carrier: 'authorization' });
    const { authorization: _a, ...noHeader } = all.headers;
    expect(findToken({ ...all, headers: noHeader })).toEqual({ token: 'from-protocol', carrier: 'subprotocol' });
    expect(findToken({ headers: { cookie: all.headers.cookie }, query: all.query })).toEqual({ token: 'from-cookie', carrier: 'cookie' });
    expect(findToken({ headers: {}, query: all.query })).toEqual({ token: 'from-query', carrier: 'query' });
  });

  it('finds none where there is none, nor in an Authorization header of another scheme', () => {
    expect(findToken({ headers: {}, query: {} })).toBeUndefined();
    expect(findToken({ headers: { authorization: 'Basic dTpw', 'sec-websocket-protocol': 'chat' }, query: {} })).toBeUndefined();
  });
});
