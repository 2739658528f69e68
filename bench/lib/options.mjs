// Command-line options of the benchmarks: --name value / --name=value, else BENCH_NAME (dashes
// as underscores), else the default. `--help` / `-h` prints `help` and exits.

export function cliOptions(help) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(help);
    process.exit(0);
  }

  function option(name, fallback) {
    const args = process.argv.slice(2);
    for (let i = 0; i < args.length; i += 1) {
      if (args[i] === `--${name}`) return args[i + 1];
      if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
    }
    return process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`] || fallback;
  }

  /** A number ≥ `min`; anything else prints the usage and exits with 2. */
  function numberOption(name, fallback, min) {
    const value = Number(option(name, fallback));
    if (!Number.isFinite(value) || value < min) {
      console.error(`--${name} must be a number ≥ ${min}\n${help}`);
      process.exit(2);
    }
    return value;
  }

  /** A comma-separated list, trimmed, empty items dropped. */
  const listOption = (name, fallback) =>
    String(option(name, fallback))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  return { option, numberOption, listOption };
}
