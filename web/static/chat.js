// The chat page's client: one room, any of four transports, one cursor.
//
// The cursor (epoch + last id) survives every reconnect and every change of transport, so
// the page never misses or repeats a message. What the user sends is kept in an outbox with
// its cid until the server acknowledges it, and resent with the same cid after a reconnect:
// the server stores a cid once, so nothing is sent twice. Text is only ever set as text.
(function () {
  'use strict';

  var body = document.body;
  var room = body.dataset.room;
  var maxLength = Number(body.dataset.maxLength) || 2000;
  var requested = body.dataset.transport || '';

  var list = document.getElementById('messages');
  var statusEl = document.getElementById('status');
  var noticeEl = document.getElementById('notice');
  var onlineEl = document.getElementById('online');
  var form = document.getElementById('composer');
  var box = document.getElementById('message');
  var nameInput = document.getElementById('name');

  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 15000;
  var POLL_INTERVAL_MS = 2000;
  var LONG_POLL_TIMEOUT_SEC = 25;
  var OUTBOX_KEY = 'chat:outbox:' + room;

  var cursor = { epoch: null, last: null };
  var outbox = loadOutbox();
  var transport = null;
  var attempt = 0;
  var retryTimer = null;
  var wsFailures = 0;
  var flushing = false;
  var pendingTransport = null;

  // ---- names -------------------------------------------------------------------------------

  function storedName() {
    try {
      return localStorage.getItem('chat:name') || '';
    } catch (e) {
      return '';
    }
  }

  if (!nameInput.value) nameInput.value = storedName();

  function currentName() {
    return nameInput.value.trim();
  }

  nameInput.addEventListener('change', function () {
    try {
      localStorage.setItem('chat:name', currentName());
    } catch (e) {
      /* storage disabled */
    }
    markOwnMessages();
    // The WebSocket carries the name per connection: reconnect from the cursor to use the new one.
    if (transport && transport.name === 'ws') restart(0);
  });

  // ---- rendering ---------------------------------------------------------------------------

  function setState(state, text) {
    statusEl.dataset.state = state;
    statusEl.dataset.transport = transport ? transport.name : '';
    statusEl.textContent = text;
  }

  var LABELS = { ws: 'WebSocket', sse: 'Server-Sent Events', longpoll: 'long polling', poll: 'polling' };

  function showNotice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = false;
  }

  function timeOf(ts) {
    var date = new Date(ts);
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function isMine(message) {
    return (message.cid && message.cid.indexOf(clientPrefix) === 0) || message.user === currentName();
  }

  function render(message) {
    var item = document.createElement('li');
    item.className = 'msg' + (isMine(message) ? ' mine' : '');
    item.dataset.id = String(message.id);
    item.dataset.user = message.user;
    var meta = document.createElement('div');
    meta.className = 'meta';
    var who = document.createElement('span');
    who.className = 'user';
    who.textContent = message.user;
    var when = document.createElement('time');
    when.dateTime = new Date(message.ts).toISOString();
    when.textContent = timeOf(message.ts);
    meta.appendChild(who);
    meta.appendChild(when);
    var text = document.createElement('p');
    text.className = 'text';
    text.textContent = message.text;
    item.appendChild(meta);
    item.appendChild(text);
    return item;
  }

  function markOwnMessages() {
    var items = list.querySelectorAll('li.msg[data-id]');
    for (var i = 0; i < items.length; i++) {
      items[i].classList.toggle('mine', items[i].dataset.user === currentName() || items[i].classList.contains('sent-here'));
    }
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollDown() {
    list.scrollTop = list.scrollHeight;
  }

  // ---- the cursor and what arrives ---------------------------------------------------------

  /** A history answer: the first one of a connection, or a resynchronization. */
  function onHistory(epoch, messages, gap, missed) {
    if (gap) {
      if (cursor.epoch !== null && epoch !== cursor.epoch) {
        list.textContent = '';
        cursor.last = null;
        showNotice('The room’s history was reset; showing what it holds now.');
      } else if (typeof missed === 'number' && missed > 0) {
        showNotice(missed + ' earlier message' + (missed === 1 ? '' : 's') + ' could not be loaded.');
      } else {
        showNotice('Some earlier messages could not be loaded.');
      }
    }
    cursor.epoch = epoch;
    var stick = nearBottom();
    for (var i = 0; i < messages.length; i++) addMessage(messages[i], false);
    if (cursor.last === null) cursor.last = 0;
    if (stick || messages.length) scrollDown();
  }

  function addMessage(message, live) {
    if (cursor.last !== null && message.id <= cursor.last) return;
    if (list.querySelector('li[data-id="' + message.id + '"]')) return;
    var stick = nearBottom();
    var item = render(message);
    if (message.cid) {
      // Ours when it is still in the outbox, or was sent from this page (the ack can come first).
      var ours = Boolean(outbox[message.cid]) || message.cid.indexOf(clientPrefix) === 0;
      removePending(message.cid);
      if (outbox[message.cid]) {
        delete outbox[message.cid];
        saveOutbox();
      }
      if (ours) item.classList.add('mine', 'sent-here');
    }
    list.appendChild(item);
    cursor.last = message.id;
    if (!live || stick) scrollDown();
  }

  function onPresence(frame) {
    onlineEl.textContent = frame.online + ' online';
  }

  function onAck(cid) {
    if (outbox[cid]) {
      delete outbox[cid];
      saveOutbox();
    }
  }

  function onSendError(frame) {
    if (frame.code === 'unavailable' || frame.code === 'rate_limited') {
      // Kept in the outbox; resent with the same cid after a pause or a reconnect.
      scheduleFlush(frame.code === 'rate_limited' ? 2000 : 3000);
      return;
    }
    if (frame.cid && outbox[frame.cid]) {
      markFailed(frame.cid, frame.message);
      delete outbox[frame.cid];
      saveOutbox();
    } else {
      showNotice(frame.message);
    }
  }

  // ---- the outbox --------------------------------------------------------------------------

  var clientPrefix = 'p' + Math.random().toString(36).slice(2, 8) + '-';
  var sendCount = 0;

  function loadOutbox() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || '{}');
      return saved && typeof saved === 'object' ? saved : {};
    } catch (e) {
      return {};
    }
  }

  function saveOutbox() {
    try {
      sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox));
    } catch (e) {
      /* storage disabled: the outbox still lives in memory */
    }
  }

  function pendingEl(cid) {
    var items = list.querySelectorAll('li.pending');
    for (var i = 0; i < items.length; i++) if (items[i].dataset.cid === cid) return items[i];
    return null;
  }

  function showPending(cid, entry) {
    if (pendingEl(cid)) return;
    var item = render({ id: 0, user: entry.user || currentName() || 'you', text: entry.text, ts: entry.ts });
    delete item.dataset.id; // only stored messages carry an id
    item.dataset.cid = cid;
    item.classList.add('mine', 'pending');
    item.querySelector('time').textContent = 'sending…';
    list.appendChild(item);
    scrollDown();
  }

  function removePending(cid) {
    var item = pendingEl(cid);
    if (item) item.remove();
  }

  function markFailed(cid, why) {
    var item = pendingEl(cid);
    if (!item) return;
    item.classList.remove('pending');
    item.classList.add('failed');
    item.querySelector('time').textContent = 'not sent: ' + why;
  }

  function queue(text) {
    var cid = clientPrefix + ++sendCount + '-' + Date.now().toString(36);
    outbox[cid] = { text: text, user: currentName(), ts: Date.now() };
    saveOutbox();
    showPending(cid, outbox[cid]);
    flush();
  }

  function scheduleFlush(delayMs) {
    setTimeout(flush, delayMs);
  }

  /** Sends everything in the outbox over the open transport, in the order it was typed. */
  function flush() {
    if (!transport || !transport.ready || flushing) return;
    var cids = Object.keys(outbox);
    if (!cids.length) return;
    flushing = true;
    var chain = Promise.resolve();
    cids.forEach(function (cid) {
      chain = chain.then(function () {
        if (!outbox[cid] || !transport || !transport.ready) return;
        return transport.send(outbox[cid].text, cid);
      });
    });
    chain.then(
      function () {
        flushing = false;
      },
      function () {
        flushing = false;
      },
    );
  }

  // Typed before a reload and never acknowledged: show it and send it again.
  Object.keys(outbox).forEach(function (cid) {
    showPending(cid, outbox[cid]);
  });

  // ---- connection lifecycle ----------------------------------------------------------------

  var handlers = {
    history: onHistory,
    message: function (m) {
      addMessage(m, true);
    },
    presence: onPresence,
    ack: onAck,
    error: onSendError,
    open: function () {
      attempt = 0;
      noticeIfOffline();
      setState('open', 'Connected · ' + LABELS[transport.name]);
      flush();
    },
    lost: function (fatalReason) {
      if (fatalReason) {
        stop();
        setState('offline', fatalReason);
        showNotice(fatalReason);
        return;
      }
      restart();
    },
    wsUnavailable: function () {
      // WebSocket cannot connect but the server answers HTTP: a proxy or network in the way.
      transport = null;
      start('sse');
    },
  };

  function noticeIfOffline() {
    if (!navigator.onLine) setState('offline', 'Offline');
  }

  function stop() {
    clearTimeout(retryTimer);
    if (transport) transport.close();
    transport = null;
  }

  function restart(delayMs) {
    var name = transport ? transport.name : pendingTransport || chooseTransport();
    stop();
    if (!navigator.onLine) {
      setState('offline', 'Offline · waiting for the network');
      transport = null;
      pendingTransport = name;
      return;
    }
    var delay =
      delayMs !== undefined ? delayMs : Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    attempt++;
    setState('reconnecting', 'Reconnecting in ' + Math.max(1, Math.round(delay / 1000)) + ' s…');
    statusEl.dataset.transport = name;
    retryTimer = setTimeout(function () {
      start(name);
    }, delay);
  }

  window.addEventListener('online', function () {
    attempt = 0;
    restart(0);
  });
  window.addEventListener('offline', function () {
    setState('offline', 'Offline · messages you send will wait');
  });

  function chooseTransport() {
    if (requested && TRANSPORTS[requested]) return requested;
    if (typeof window.WebSocket === 'function') return 'ws';
    if (typeof window.EventSource === 'function') return 'sse';
    return 'longpoll';
  }

  function start(name) {
    if (name === 'sse' && typeof window.EventSource !== 'function') name = 'longpoll';
    if (name === 'ws' && typeof window.WebSocket !== 'function') name = 'sse';
    transport = TRANSPORTS[name]();
    setState(attempt ? 'reconnecting' : 'connecting', 'Connecting · ' + LABELS[name] + '…');
    transport.connect();
  }

  // ---- transports --------------------------------------------------------------------------

  function query(extra) {
    var params = new URLSearchParams();
    if (cursor.last !== null) params.set('since', String(cursor.last));
    if (cursor.epoch) params.set('epoch', cursor.epoch);
    for (var key in extra) if (extra[key]) params.set(key, extra[key]);
    var qs = params.toString();
    return qs ? '?' + qs : '';
  }

  var base = '/api/rooms/' + encodeURIComponent(room);

  /** Sends over HTTP (every transport but WebSocket). */
  function post(text, cid) {
    return fetch(base + '/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: currentName() || undefined, text: text, cid: cid }),
    }).then(
      function (res) {
        return res.json().then(function (answer) {
          if (res.ok) {
            onAck(cid);
            if (transport && (transport.name === 'poll' || transport.name === 'longpoll')) transport.poke();
          } else {
            var err = answer.error || { code: 'unavailable', message: 'HTTP ' + res.status };
            onSendError({ code: err.code, message: err.message, cid: cid });
          }
        });
      },
      function () {
        // Network failure: the outbox keeps it for the next connection.
        scheduleFlush(3000);
      },
    );
  }

  var TRANSPORTS = {
    ws: function () {
      var t = { name: 'ws', ready: false, socket: null, opened: false };
      t.connect = function () {
        var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
        var url = scheme + '//' + location.host + '/ws/' + encodeURIComponent(room) + query({ name: currentName() });
        var socket = new WebSocket(url);
        t.socket = socket;
        socket.onopen = function () {
          t.opened = true;
          wsFailures = 0;
        };
        socket.onmessage = function (event) {
          var frame;
          try {
            frame = JSON.parse(event.data);
          } catch (e) {
            return;
          }
          if (frame.type === 'history') {
            handlers.history(frame.epoch, frame.messages, frame.gap, frame.missed);
            if (!t.ready) {
              t.ready = true;
              handlers.open();
            }
          } else if (frame.type === 'message') handlers.message(frame);
          else if (frame.type === 'presence') handlers.presence(frame);
          else if (frame.type === 'ack') handlers.ack(frame.cid);
          else if (frame.type === 'error') handlers.error(frame);
        };
        socket.onclose = function (event) {
          if (t.socket !== socket) return;
          t.ready = false;
          t.socket = null;
          if (event.code === 1008) return handlers.lost('Cannot join this room: ' + (event.reason || 'refused') + '.');
          if (!t.opened && !requested) {
            wsFailures++;
            // Told apart: the server is down (keep trying WebSocket) or WebSocket is blocked.
            if (wsFailures >= 2) {
              return fetch('/healthz', { cache: 'no-store' }).then(
                function () {
                  handlers.wsUnavailable();
                },
                function () {
                  handlers.lost();
                },
              );
            }
          }
          handlers.lost();
        };
      };
      t.send = function (text, cid) {
        if (t.socket && t.socket.readyState === 1) t.socket.send(JSON.stringify({ type: 'message', text: text, cid: cid }));
        return Promise.resolve();
      };
      t.close = function () {
        var socket = t.socket;
        t.socket = null;
        t.ready = false;
        if (socket) socket.close();
      };
      return t;
    },

    sse: function () {
      var t = { name: 'sse', ready: false, source: null };
      t.connect = function () {
        var source = new EventSource(base + '/events' + query({ name: currentName() }));
        t.source = source;
        var first = true;
        function opened() {
          if (t.ready) return;
          t.ready = true;
          handlers.open();
        }
        source.addEventListener('gap', function (event) {
          var info = JSON.parse(event.data);
          handlers.history(info.epoch, [], true, info.missed);
        });
        source.addEventListener('ready', function (event) {
          var info = JSON.parse(event.data);
          if (first) handlers.history(info.epoch, [], false);
          first = false;
          opened();
        });
        source.addEventListener('message', function (event) {
          var message = JSON.parse(event.data);
          var epoch = String(event.lastEventId).split(':')[0];
          if (first) handlers.history(epoch, [], false);
          first = false;
          handlers.message(message);
          opened();
        });
        source.addEventListener('presence', function (event) {
          handlers.presence(JSON.parse(event.data));
        });
        source.onopen = function () {
          // A reconnect by EventSource itself resumes from Last-Event-ID.
          if (t.wasLost) {
            t.wasLost = false;
            handlers.open();
          }
        };
        source.onerror = function () {
          if (source.readyState === 2) {
            t.ready = false;
            return handlers.lost();
          }
          t.wasLost = true;
          setState('reconnecting', 'Reconnecting · ' + LABELS.sse + '…');
        };
      };
      t.send = post;
      t.close = function () {
        t.ready = false;
        if (t.source) t.source.close();
        t.source = null;
      };
      return t;
    },

    longpoll: function () {
      return pollingTransport('longpoll', function () {
        return base + '/poll' + query({ timeout: String(LONG_POLL_TIMEOUT_SEC) });
      }, 0);
    },

    poll: function () {
      return pollingTransport('poll', function () {
        return base + '/messages' + query({});
      }, POLL_INTERVAL_MS);
    },
  };

  /** Long and short polling: the same loop, with or without the server holding the request. */
  function pollingTransport(name, url, intervalMs) {
    var t = { name: name, ready: false, closed: false, timer: null, controller: null, inFlight: false };
    function loop() {
      if (t.closed || t.inFlight) return;
      clearTimeout(t.timer);
      t.inFlight = true;
      t.controller = new AbortController();
      fetch(url(), { cache: 'no-store', signal: t.controller.signal })
        .then(function (res) {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          return res.json();
        })
        .then(function (answer) {
          t.inFlight = false;
          if (t.closed) return;
          var fresh = !t.ready || answer.gap || (cursor.epoch && answer.epoch !== cursor.epoch);
          if (fresh) handlers.history(answer.epoch, answer.messages, answer.gap, answer.missed);
          else for (var i = 0; i < answer.messages.length; i++) handlers.message(answer.messages[i]);
          cursor.last = Math.max(cursor.last || 0, answer.last);
          if (!t.ready) {
            t.ready = true;
            handlers.open();
          }
          t.timer = setTimeout(loop, intervalMs);
        })
        .catch(function () {
          t.inFlight = false;
          if (t.closed) return;
          t.ready = false;
          handlers.lost();
        });
    }
    t.connect = loop;
    t.send = post;
    t.poke = function () {
      // After our own send, short polling looks now rather than at its next tick.
      if (name === 'poll' && !t.closed) loop();
    };
    t.close = function () {
      t.closed = true;
      t.ready = false;
      clearTimeout(t.timer);
      if (t.controller) t.controller.abort();
    };
    return t;
  }

  // ---- the composer ------------------------------------------------------------------------

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) return;
    if (Array.from(text).length > maxLength) {
      showNotice('A message is at most ' + maxLength + ' characters.');
      return;
    }
    box.value = '';
    queue(text);
    box.focus();
  });

  box.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  if (!navigator.onLine) {
    setState('offline', 'Offline · waiting for the network');
    pendingTransport = chooseTransport();
  } else {
    start(chooseTransport());
  }
  box.focus();
})();
