// Floats printed the way Python prints them, where MMAction2's output is Python's text:
//   formatFixedLikePython: `f"{x:.4f}"`, the metric lines. Not `x.toFixed(4)`: Python rounds the
//     exact binary value half-to-even, toFixed rounds exact halves up, and accuracies hit exact
//     halves easily (1/32 = 0.03125 prints "0.0312" in Python, "0.0313" with toFixed).
//   reprLikePython: `repr(x)`, what json.dump writes for a float in the --out file. Same shortest
//     round-trip digits as JavaScript's String(x), laid out differently ("1e-05" not "0.00001",
//     "1.0" not "1", "3.0000000054977557e+20" not "300000000549775570000", which Python's
//     json.load would read back as an int).

/** `format(x, f".{digits}f")` as CPython prints it: "nan", "inf", "-0.0000" included */
export function formatFixedLikePython(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const negative = x < 0 || Object.is(x, -0);
  const { mantissa, exponent } = decompose(Math.abs(x));
  // |x| = mantissa * 2^exponent exactly; round |x| * 10^digits to an integer, ties to even
  const scale = 10n ** BigInt(digits);
  let units: bigint;
  if (exponent >= 0) {
    units = (mantissa << BigInt(exponent)) * scale;
  } else {
    const num = mantissa * scale;
    const den = 1n << BigInt(-exponent);
    units = num / den;
    const twiceRest = (num % den) * 2n;
    if (twiceRest > den || (twiceRest === den && units % 2n === 1n)) units += 1n;
  }
  let text = units.toString().padStart(digits + 1, "0");
  if (digits > 0) text = `${text.slice(0, text.length - digits)}.${text.slice(text.length - digits)}`;
  return negative ? `-${text}` : text;
}

/** a finite non-negative double as an integer mantissa and a power of two */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 }; // subnormal or zero
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** `repr(x)` of a Python float: shortest round-trip digits, scientific below 1e-4 and from 1e16 */
export function reprLikePython(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const decpt = Number(exp) + 1; // x = 0.<digits> * 10^decpt
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
    if (decpt < digits.length) return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
    return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  }
  const e = decpt - 1;
  const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${body}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}
