/*
 * fpfmt: prints doubles and long doubles with a printf-style formatter (%f, %e, %g with a
 * precision) that, like musl's, does its work in long double arithmetic: the 64-bit significand
 * is turned into base-10^9 limbs by repeated "take the integer part, multiply the rest by 10^9",
 * which is exact only if the FPU really keeps 64 significand bits. The rest (scaling by the
 * binary exponent, decimal rounding half to even) is integer arithmetic. Built for the guest and
 * natively (-DNATIVE); both must print the same text.
 */
#ifdef NATIVE
#include <stdint.h>
#include <unistd.h>
typedef uint32_t u32;
typedef uint64_t u64;
#else
#include "ulib.h"
#endif

#define LIMBS 400

static u32 limb[LIMBS];
static char digits[LIMBS * 9 + 16];
static char line[LIMBS * 9 + 64];
static int pos;

static void put(char c)
{
	if (pos < (int)sizeof(line) - 1)
		line[pos++] = c;
}
static void puts_(const char *s)
{
	while (*s)
		put(*s++);
}
static void flush(void)
{
	put('\n');
	write(1, line, (u32)pos);
	pos = 0;
}

/*
 * The exact decimal expansion of y > 0 (finite): digits[0..n) without leading or trailing zeros,
 * and the decimal exponent of the first digit. Returns n.
 */
static int expand(long double y, int *exp10)
{
	int e2 = 0, n = 0, i, k;
	while (y >= 2.0L) {
		y *= 0.5L;
		e2++;
	}
	while (y < 1.0L) {
		y *= 2.0L;
		e2--;
	}
	/* y in [1,2): scale to [2^28, 2^29) and peel off base-10^9 limbs (exact at 64 bits). */
	y *= 268435456.0L;
	e2 -= 28;
	do {
		u32 d = (u32)y;
		limb[n++] = d;
		y = 1000000000.0L * (y - (long double)d);
	} while (y != 0.0L && n < LIMBS);
	/* The value is limbs * 2^e2, with `point` decimal digits before the radix point. */
	int point = 9;
	while (e2 > 0) {
		int sh = e2 < 29 ? e2 : 29;
		u32 carry = 0;
		for (i = n - 1; i >= 0; i--) {
			u64 x = ((u64)limb[i] << sh) + carry;
			limb[i] = (u32)(x % 1000000000u);
			carry = (u32)(x / 1000000000u);
		}
		if (carry && n < LIMBS) {
			for (i = n; i > 0; i--)
				limb[i] = limb[i - 1];
			limb[0] = carry;
			n++;
			point += 9;
		}
		e2 -= sh;
	}
	while (e2 < 0) {
		int sh = -e2 < 9 ? -e2 : 9;
		u32 carry = 0, mask = (1u << sh) - 1;
		for (i = 0; i < n; i++) {
			u32 x = limb[i] & mask;
			limb[i] = (limb[i] >> sh) + carry;
			carry = (1000000000u >> sh) * x;
		}
		if (carry && n < LIMBS)
			limb[n++] = carry;
		if (limb[0] == 0) {
			for (i = 0; i + 1 < n; i++)
				limb[i] = limb[i + 1];
			n--;
			point -= 9;
		}
		e2 += sh;
	}
	/* Limbs to digits, then drop leading and trailing zeros. */
	int nd = 0;
	for (i = 0; i < n; i++) {
		u32 v = limb[i];
		for (k = 8; k >= 0; k--) {
			digits[nd + k] = (char)('0' + v % 10);
			v /= 10;
		}
		nd += 9;
	}
	int z = 0;
	while (z < nd - 1 && digits[z] == '0')
		z++;
	for (i = 0; i + z < nd; i++)
		digits[i] = digits[i + z];
	nd -= z;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	*exp10 = point - 1 - z;
	return nd;
}

/* Rounds digits[0..n) to keep `keep` digits (half to even); returns the new count (may carry). */
static int round_digits(int n, int keep, int *exp10)
{
	int i;
	if (keep < 0) {
		/* Everything is below the last kept place: rounds to 0 or to one unit there. */
		int up = keep == -1 && (digits[0] > '5' || (digits[0] == '5' && n > 1));
		digits[0] = up ? '1' : '0';
		if (up)
			*exp10 += 1;
		return up ? 1 : 0;
	}
	if (keep >= n)
		return n;
	int up = digits[keep] > '5';
	if (digits[keep] == '5') {
		int rest = 0;
		for (i = keep + 1; i < n; i++)
			rest |= digits[i] != '0';
		up = rest || (keep > 0 && (digits[keep - 1] - '0') % 2 == 1);
	}
	n = keep;
	if (up) {
		for (i = keep - 1; i >= 0; i--) {
			if (digits[i] == '9') {
				digits[i] = '0';
				continue;
			}
			digits[i]++;
			break;
		}
		if (i < 0) {
			for (i = n; i > 0; i--)
				digits[i] = digits[i - 1];
			digits[0] = '1';
			n++;
			*exp10 += 1;
		}
	}
	return n;
}

static void put_fixed(int n, int e, int prec)
{
	int i;
	if (e < 0)
		put('0');
	for (i = 0; i <= e; i++)
		put(i < n ? digits[i] : '0');
	if (prec > 0)
		put('.');
	for (i = 1; i <= prec; i++) {
		int k = e + i;
		put(k >= 0 && k < n ? digits[k] : '0');
	}
}

static void put_exp(int n, int e, int prec)
{
	int i;
	put(n > 0 ? digits[0] : '0');
	if (prec > 0)
		put('.');
	for (i = 1; i <= prec; i++)
		put(i < n ? digits[i] : '0');
	put('e');
	put(e < 0 ? '-' : '+');
	if (e < 0)
		e = -e;
	char b[8];
	int k = 0;
	do {
		b[k++] = (char)('0' + e % 10);
		e /= 10;
	} while (e);
	if (k < 2)
		b[k++] = '0';
	while (k)
		put(b[--k]);
}

/* One conversion: t is 'f', 'e' or 'g'. */
static void fmt(long double x, char t, int prec)
{
	int e, n;
	if (x != x) {
		puts_("nan");
		return;
	}
	if (x < 0 || (x == 0 && 1.0L / x < 0)) {
		put('-');
		x = -x;
	}
	if (x > 1.18973149535723176502e+4932L) {
		puts_("inf");
		return;
	}
	if (x == 0) {
		digits[0] = '0';
		n = 1;
		e = 0;
	} else
		n = expand(x, &e);
	if (t == 'f') {
		n = round_digits(n, e + 1 + prec, &e);
		if (n == 0) {
			digits[0] = '0';
			n = 1;
			e = 0;
		}
		put_fixed(n, e, prec);
	} else if (t == 'e') {
		n = round_digits(n, prec + 1, &e);
		put_exp(n, e, prec);
	} else {
		int p = prec ? prec : 1;
		n = round_digits(n, p, &e);
		while (n > 1 && digits[n - 1] == '0')
			n--;
		if (e < p && e >= -4) {
			int f = p - 1 - e;
			while (f > 0 && (e + f >= n))
				f--;
			put_fixed(n, e, f);
		} else {
			int f = p - 1;
			while (f > 0 && f >= n)
				f--;
			put_exp(n, e, f);
		}
	}
}

static void show(const char *label, long double x, char t, int prec)
{
	puts_(label);
	puts_(" = ");
	fmt(x, t, prec);
	flush();
}

static long double fldpi(void)
{
	long double v;
	__asm__("fldpi" : "=t"(v));
	return v;
}
static long double fsqrt(long double x)
{
	__asm__("fsqrt" : "+t"(x));
	return x;
}

static int run(void)
{
	volatile double d14 = 1.4, tenth = 0.1, pi_d = 3.14159265358979, big = 1e300, tiny = 1e-300;
	volatile long double three = 3.0L;
	long double third = 1.0L / three, h = 0.0L, fact = 1.0L;
	int k;
	show("%f 1.4", d14, 'f', 6);
	show("%f fldpi", fldpi(), 'f', 6);
	show("%.10g 3.14159265358979", pi_d, 'g', 10);
	show("%g 0.1", tenth, 'g', 6);
	show("%.17g 0.1", tenth, 'g', 17);
	show("%.20Lg 1/3", third, 'g', 20);
	show("%.25Lf 1/3", third, 'f', 25);
	show("%e 1e300", big, 'e', 6);
	show("%.17e 1e300", big, 'e', 17);
	show("%.17g 1e-300", tiny, 'g', 17);
	show("%.0f 0.5", 0.5, 'f', 0);
	show("%.0f 2.5", 2.5, 'f', 0);
	show("%.2f 0.125", 0.125, 'f', 2);
	show("%g 100000", 100000.0, 'g', 6);
	show("%g 1e6", 1e6, 'g', 6);
	show("%g 1e-5", 1e-5, 'g', 6);
	show("%.21Lg fldpi", fldpi(), 'g', 21);
	show("%.21Lg sqrt(2)", fsqrt(2.0L), 'g', 21);
	for (k = 1; k <= 30; k++) {
		h += 1.0L / k;
		fact *= k;
	}
	show("%.21Lg H(30)", h, 'g', 21);
	show("%.21Le 30!", fact, 'e', 21);
	show("%.3Lf 2^64+0.5", 18446744073709551616.0L + 0.5L, 'f', 3);
	show("%Lg -0", -0.0L, 'g', 6);
	show("%.30Lf 1e-20", 1e-20L, 'f', 30);
	return 0;
}

#ifdef NATIVE
int main(void)
{
	return run();
}
#else
int main(const char *args)
{
	(void)args;
	return run();
}
#endif
