// A helper module required relatively by throws.js.
exports.fail = function fail(why) {
  throw new RangeError(why);
};
exports.double = (n) => n * 2;
