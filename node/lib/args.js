'use strict';
// Argument type checks. Ranges are the core's (validate_tag, validate_uid, ...): a number
// of the right type but out of range reaches the addon, which throws a RangeError with
// code EINVAL and the core's message.

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'object') return `an instance of ${v.constructor ? v.constructor.name : 'Object'}`;
  return `type ${typeof v} (${String(v)})`;
}

function typeError(message) {
  const e = new TypeError(message);
  e.code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

/** A number argument (a bigint is accepted and converted); `optional`: null/undefined → null. */
function intArg(name, v, optional = false) {
  if (optional && (v === undefined || v === null)) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw typeError(`The "${name}" argument must be of type number. Received ${describe(v)}`);
}

function funcArg(name, v) {
  if (typeof v !== 'function') {
    throw typeError(`The "${name}" argument must be of type function. Received ${describe(v)}`);
  }
  return v;
}

function stringArg(name, v) {
  if (typeof v !== 'string') {
    throw typeError(`The "${name}" argument must be of type string. Received ${describe(v)}`);
  }
  return v;
}

/** An Error with a code, like the addon's (for conditions only the JS side sees). */
function qtagError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

module.exports = { intArg, funcArg, stringArg, typeError, qtagError, describe };
