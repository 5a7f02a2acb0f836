/* Freestanding string and formatting helpers. No hardware access here. */
#include "lib.h"

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	if (dp < sp) {
		while (n--)
			*dp++ = *sp++;
	} else {
		while (n--)
			dp[n] = sp[n];
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

void strlcpy(char *d, const char *s, size_t n)
{
	size_t i = 0;
	if (!n)
		return;
	for (; i + 1 < n && s[i]; i++)
		d[i] = s[i];
	d[i] = 0;
}

/* Output cursor for vsnprintf: counts everything, stores what fits. */
struct out {
	char *buf;
	size_t size, pos;
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_num(struct out *o, u64 v, unsigned base, int upper, int neg, int width, int zero,
		    int left)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0, len, pad;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (neg ? 1 : 0);
	pad = width > len ? width - len : 0;
	if (!left && !zero)
		while (pad-- > 0)
			put(o, ' ');
	if (neg)
		put(o, '-');
	if (!left && zero)
		while (pad-- > 0)
			put(o, '0');
	while (n)
		put(o, tmp[--n]);
	if (left)
		while (pad-- > 0)
			put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		int width = 0, zero = 0, left = 0, lng = 0;
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				zero = 1;
			else if (*fmt == '-')
				left = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			lng++, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 v = lng >= 2 ? va_arg(ap, s64) : (s64)va_arg(ap, int);
			u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;
			put_num(&o, mag, 10, 0, v < 0, width, zero, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			u64 v = lng >= 2 ? va_arg(ap, u64) : (u64)va_arg(ap, unsigned);
			put_num(&o, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width, zero, left);
			break;
		}
		case 'p':
			put_num(&o, (u32)va_arg(ap, void *), 16, 0, 0, 8, 1, 0);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len, pad;
			if (!s)
				s = "(null)";
			len = (int)strlen(s);
			pad = width > len ? width - len : 0;
			if (!left)
				while (pad-- > 0)
					put(&o, ' ');
			while (*s)
				put(&o, *s++);
			if (left)
				while (pad-- > 0)
					put(&o, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--; /* format ended after '%' */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	if (size)
		buf[o.pos < size ? o.pos : size - 1] = 0;
	return (int)o.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int parse_u32(const char *s, u32 *out)
{
	u32 v = 0, base = 10;
	if (!s || !*s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -1;
	}
	for (; *s; s++) {
		u32 d;
		if (*s >= '0' && *s <= '9')
			d = (u32)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (u32)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (u32)(*s - 'A' + 10);
		else
			return -1;
		if (v > (0xFFFFFFFFu - d) / base)
			return -1; /* overflow */
		v = v * base + d;
	}
	*out = v;
	return 0;
}

char *next_word(char **cursor)
{
	char *s = *cursor, *w;
	if (!s)
		return NULL; /* no arguments at all */
	while (*s == ' ')
		s++;
	if (!*s) {
		*cursor = s;
		return NULL;
	}
	w = s;
	while (*s && *s != ' ')
		s++;
	if (*s)
		*s++ = 0;
	*cursor = s;
	return w;
}
