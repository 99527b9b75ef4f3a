'use strict';
// Stats: the core parses and answers the queries (native Stats class); results are plain
// objects ({rxBytes, txBytes, ...}). TrafficStats-style getters default to your own uid.
const native = require('./native');
const { intArg, stringArg } = require('./args');

function ownUid(uid) {
  if (uid === undefined || uid === null) return process.getuid();
  return intArg('uid', uid);
}

const getters = {};
for (const what of ['RxBytes', 'RxPackets', 'TxBytes', 'TxPackets']) {
  const uidFn = native[`uid${what}`];
  const totalFn = native[`total${what}`];
  const ifaceFn = native[`iface${what}`];
  getters[`getUid${what}`] = (uid) => uidFn(ownUid(uid));
  getters[`getTotal${what}`] = () => totalFn();
  getters[`get${what}`] = (iface) => ifaceFn(stringArg('iface', iface));
}

module.exports = {
  Stats: native.Stats,
  readCtrl: () => native.readCtrl(),
  ifaceStatAll: () => native.ifaceStatAll(),
  ifaceStatFmt: () => native.ifaceStatFmt(),
  ...getters,
};
