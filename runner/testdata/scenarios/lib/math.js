// A helper module: under lib/, so discovery never runs it as a scenario.
module.exports = { double: (x) => x * 2 };
