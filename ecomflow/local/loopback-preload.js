'use strict';
// Copied into the stack's folder and loaded into kinesis-mock (node --require) by
// ecomflow/local/services.py: every TCP listen in this process goes to 127.0.0.1.
const net = require('net');
const LOOPBACK = '127.0.0.1';
const originalListen = net.Server.prototype.listen;
const openSockets = new Set();

function isPort(value) {
  return typeof value === 'number' || (typeof value === 'string' && /^[0-9]+$/.test(value));
}

function loopbackArgs(args) {
  const first = args[0];
  if (first === undefined || first === null) {
    // listen(): a random port.
    args[0] = 0;
    args.splice(1, 0, LOOPBACK);
  } else if (typeof first === 'function') {
    // listen(callback): a random port.
    args.unshift(0, LOOPBACK);
  } else if (isPort(first)) {
    // listen(port[, host][, backlog][, callback])
    const second = args[1];
    const hostSlot = second === undefined || second === null ? args.length > 1 : false;
    if (typeof second === 'string' || hostSlot) {
      args[1] = LOOPBACK;
    } else {
      args.splice(1, 0, LOOPBACK);
    }
  } else if (typeof first === 'object' && first.path === undefined && first.fd === undefined
             && first.handle === undefined && first._handle === undefined) {
    // listen(options[, callback]) with a TCP port.
    args[0] = Object.assign({}, first, { host: LOOPBACK, ipv6Only: false });
  }
  // Unix socket paths, handles and fds are not TCP ports: they pass through unchanged.
  return args;
}

net.Server.prototype.listen = function loopbackListen(...args) {
  this.on('connection', (socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  return originalListen.apply(this, loopbackArgs(args));
};

// Signal end-of-input on every open connection so the server's shutdown need not wait for
// clients; repeated because a client may reconnect meanwhile. unref(): never keeps us alive.
function hangUp() {
  for (const socket of openSockets) {
    socket.push(null);
    socket.end();
  }
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    hangUp();
    setInterval(hangUp, 100).unref();
  });
}
