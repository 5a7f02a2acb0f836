/*
 * Native unit tests for the pure parts of the demo guest: formatting and
 * string helpers, the async hypercall ring, and demofs.  Built with -m32 by
 * test-native.sh; the guest's libc-like names are renamed with demo_ macros.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../kernel/lib.h"
#include "../kernel/hcring.h"
#include "../kernel/fs.h"

static int failures, checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                              \
	} while (0)

static void fmt_is(const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	checks++;
	if (strcmp(buf, want)) {
		failures++;
		printf("FAIL format \"%s\": got \"%s\", want \"%s\"\n", fmt, buf, want);
	}
}

static void test_lib(void)
{
	char buf[8], line[64], *cur, *w;
	u32 v;
	fmt_is("42 -7 ff FF", "%d %i %x %X", 42, -7, 255, 255);
	fmt_is("0x0000beef", "0x%08x", 0xbeef);
	fmt_is("c0100000", "%p", (void *)0xc0100000);
	fmt_is("[  ab][ab  ]", "[%4s][%-4s]", "ab", "ab");
	fmt_is("00000000000000000000000004000000", "%016llx%016llx", 0ull, 0x4000000ull);
	fmt_is("-2147483648 4294967295", "%d %u", (int)0x80000000, 0xffffffffu);
	fmt_is("100% x", "100%% %c", 'x');
	fmt_is("18446744073709551615", "%llu", ~0ull);
	CHECK(snprintf(buf, sizeof(buf), "hello world") == 11 && !strcmp(buf, "hello w"));
	CHECK(!parse_u32("123", &v) && v == 123);
	CHECK(!parse_u32("0x1F", &v) && v == 31);
	CHECK(!parse_u32("4294967295", &v) && v == 0xffffffffu);
	CHECK(parse_u32("4294967296", &v) != 0);
	CHECK(parse_u32("12a", &v) != 0 && parse_u32("", &v) != 0 && parse_u32("0x", &v) != 0);
	strcpy(line, "  cat   file.txt  rest of it");
	cur = line;
	w = next_word(&cur);
	CHECK(w && !strcmp(w, "cat"));
	w = next_word(&cur);
	CHECK(w && !strcmp(w, "file.txt"));
	CHECK(!strcmp(cur, " rest of it"));
	cur = line + strlen(line);
	CHECK(next_word(&cur) == NULL);
	cur = NULL;
	CHECK(next_word(&cur) == NULL);
	strlcpy(buf, "abcdefghij", sizeof(buf));
	CHECK(!strcmp(buf, "abcdefg"));
	memmove(line + 1, line, 4);
	CHECK(memcmp("ab", "ac", 2) < 0 && memcmp("x", "x", 1) == 0);
}

static void test_ring(void)
{
	static struct lguest_data ld;
	unsigned next = 0, i;
	memset(ld.hcall_status, 0xFF, sizeof(ld.hcall_status));
	CHECK(sizeof(struct lguest_data) == 1128);
	CHECK(offsetof(struct lguest_data, hcall_status) == 20);
	CHECK(offsetof(struct lguest_data, hcalls) == 84);
	CHECK(offsetof(struct lguest_data, reserve_mem) == 1108);
	CHECK(offsetof(struct lguest_data, guestid) == 1112);
	CHECK(offsetof(struct lguest_data, tsc_khz) == 1116);
	CHECK(offsetof(struct lguest_data, noirq_start) == 1120);
	CHECK(sizeof(struct lguest_dma) == 100 && sizeof(struct lguest_device_desc) == 12);
	CHECK(sizeof(struct lguest_block_page) == 20);
	for (i = 0; i < 64; i++)
		CHECK(hcring_push(&ld, &next, 14, i, 2, 3) == 1);
	CHECK(next == 0 && hcring_pending(&ld) == 64);
	CHECK(ld.hcalls[5].eax == 14 && ld.hcalls[5].edx == 5 && ld.hcalls[5].ebx == 2 &&
	      ld.hcalls[5].ecx == 3 && ld.hcall_status[5] == 0);
	CHECK(hcring_push(&ld, &next, 15, 0, 0, 0) == 0); /* full: caller goes synchronous */
	CHECK(next == 0);
	ld.hcall_status[0] = 0xFF; /* Host consumed slot 0 */
	CHECK(hcring_push(&ld, &next, 5, 1, 0, 0) == 1 && next == 1);
	CHECK(hcring_push(&ld, &next, 5, 1, 0, 0) == 0); /* slot 1 still busy */
}

/* An in-memory disk for demofs. */
static u8 *disk;
static u32 disk_sectors;
static int disk_read(void *ctx, u32 s, void *buf)
{
	(void)ctx;
	if (s >= disk_sectors)
		return -1;
	memcpy(buf, disk + s * 512, 512);
	return 0;
}
static int disk_write(void *ctx, u32 s, const void *buf)
{
	(void)ctx;
	if (s >= disk_sectors)
		return -1;
	memcpy(disk + s * 512, buf, 512);
	return 0;
}

static void test_fs(void)
{
	static struct demofs fs, fs2;
	struct fs_dev dev = { disk_read, disk_write, NULL, 64 };
	char big[3000], out[4000];
	int idx, i;
	disk_sectors = 64;
	disk = calloc(64, 512);
	CHECK(fs_mount(&fs, &dev) == FS_EBADFS);
	CHECK(fs_format(&fs, &dev, "unit") == FS_OK);
	CHECK(fs_count(&fs) == 0 && fs_free_sectors(&fs) == 64 - 5);
	CHECK(fs_write(&fs, "a.txt", "hello\n", 6) == FS_OK);
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CHECK(fs_write(&fs, "big", big, sizeof(big)) == FS_OK); /* 6 sectors */
	CHECK(fs_free_sectors(&fs) == 64 - 5 - 1 - 6);
	CHECK(fs_write(&fs, "bad/name", "x", 1) == FS_ENAME);
	CHECK(fs_write(&fs, "", "x", 1) == FS_ENAME);
	/* remount from disk and read back */
	CHECK(fs_mount(&fs2, &dev) == FS_OK);
	CHECK(!strcmp(fs2.sb.label, "unit") && fs_count(&fs2) == 2);
	idx = fs_find(&fs2, "big");
	CHECK(idx >= 0 && fs_read(&fs2, idx, 0, out, sizeof(out)) == (int)sizeof(big));
	CHECK(!memcmp(out, big, sizeof(big)));
	CHECK(fs_read(&fs2, idx, 2990, out, 100) == 10 && !memcmp(out, big + 2990, 10));
	CHECK(fs_read(&fs2, idx, 5000, out, 10) == 0);
	/* rewrite smaller in place: no new allocation */
	CHECK(fs_write(&fs2, "big", "tiny", 4) == FS_OK && fs_free_sectors(&fs2) == 52);
	idx = fs_find(&fs2, "big");
	CHECK(fs_read(&fs2, idx, 0, out, sizeof(out)) == 4 && !memcmp(out, "tiny", 4));
	/* growing a file moves it to a new extent */
	CHECK(fs_write(&fs2, "a.txt", big, 1024) == FS_OK && fs_free_sectors(&fs2) == 50);
	/* empty file, removal, out of space */
	CHECK(fs_write(&fs2, "empty", "", 0) == FS_OK);
	idx = fs_find(&fs2, "empty");
	CHECK(idx >= 0 && fs_read(&fs2, idx, 0, out, 10) == 0);
	CHECK(fs_remove(&fs2, "empty") == FS_OK && fs_find(&fs2, "empty") == FS_ENOENT);
	CHECK(fs_remove(&fs2, "nope") == FS_ENOENT);
	{
		static char huge[64 * 512];
		CHECK(fs_write(&fs2, "huge", huge, sizeof(huge)) == FS_ENOSPC);
	}
	CHECK(fs_mount(&fs, &dev) == FS_OK && fs_count(&fs) == 2);
	/* corrupt directory entry is rejected */
	disk[512 + 48] = 0xFF;
	disk[512 + 51] = 0x7F;
	CHECK(fs_mount(&fs, &dev) == FS_EBADFS);
	free(disk);
}

/* Mount an image produced by mkfs.ts and compare a file's contents. */
static void test_image(const char *path, const char *name, const char *want)
{
	static struct demofs fs;
	struct fs_dev dev = { disk_read, disk_write, NULL, 0 };
	char out[4096];
	FILE *f = fopen(path, "rb");
	long size;
	int idx, n;
	CHECK(f != NULL);
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	disk = malloc((size_t)size);
	CHECK(fread(disk, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	disk_sectors = dev.num_sectors = (u32)(size / 512);
	CHECK(fs_mount(&fs, &dev) == FS_OK);
	idx = fs_find(&fs, name);
	CHECK(idx >= 0);
	n = fs_read(&fs, idx, 0, out, sizeof(out) - 1);
	CHECK(n == (int)strlen(want));
	if (n >= 0) {
		out[n] = 0;
		CHECK(!strcmp(out, want));
	}
	CHECK(fs_write(&fs, "added", "more", 4) == FS_OK);
	free(disk);
}

int main(int argc, char **argv)
{
	test_lib();
	test_ring();
	test_fs();
	if (argc == 4)
		test_image(argv[1], argv[2], argv[3]);
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
