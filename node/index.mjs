// ESM entry: the same module as the CommonJS one (one state per worker, not two).
import { createRequire } from 'node:module';

const qtag = createRequire(import.meta.url)('./index.js');
export default qtag;
export const {
  setThreadStatsTag, getThreadStatsTag, getAndSetThreadStatsTag, clearThreadStatsTag,
  setThreadStatsUid, getThreadStatsUid, clearThreadStatsUid, getTagState, setTagState,
  withTag, tagged,
  tagSocket, tagSocketWith, untagSocket, install, uninstall, isInstalled,
  setCounterSet, setKernelCounterSet, deleteTagData, resetKernelUidStats,
  Stats, readCtrl, ifaceStatAll, ifaceStatFmt,
  getUidRxBytes, getUidRxPackets, getUidTxBytes, getUidTxPackets,
  getTotalRxBytes, getTotalRxPackets, getTotalTxBytes, getTotalTxPackets,
  getRxBytes, getRxPackets, getTxBytes, getTxPackets,
  UNSUPPORTED, COUNTER_SET_DEFAULT, COUNTER_SET_FOREGROUND, TAG_SYSTEM_RESERVED_START,
  TAG_SYSTEM_DOWNLOAD, TAG_SYSTEM_MEDIA, TAG_SYSTEM_BACKUP, TAG_SYSTEM_RESTORE,
  TAG_SYSTEM_APP, TAG_SYSTEM_DHCP, TAG_SYSTEM_NTP, TAG_SYSTEM_PROBE, TAG_SYSTEM_NEIGHBOR,
  TAG_SYSTEM_GPS, TAG_SYSTEM_PAC, COUNTER_NAMES, tagName, isReservedTag,
} = qtag;
