/*
 * demofs: a tiny flat filesystem on the lguest block device (pure logic:
 * the sector I/O is passed in, so it is also unit-tested natively).
 *
 * Layout (512-byte sectors, little-endian):
 *   sector 0        superblock (struct fs_super)
 *   sectors 1..4    directory: 32 entries of 64 bytes (struct fs_dirent)
 *   sectors 5..     file data; each file is one contiguous extent
 * Allocation is a bump pointer (next_free).  Rewriting a file in place
 * reuses its extent when the new contents fit; otherwise a new extent is
 * taken and the old one is leaked (documented limitation).
 */
#ifndef DEMO_FS_H
#define DEMO_FS_H
#include "types.h"

#define FS_SECTOR 512
#define FS_MAGIC "DEMOFS01"
#define FS_VERSION 1
#define FS_DIR_START 1
#define FS_DIR_SECTORS 4
#define FS_MAX_FILES (FS_DIR_SECTORS * FS_SECTOR / 64)
#define FS_DATA_START (FS_DIR_START + FS_DIR_SECTORS)
#define FS_NAME_MAX 47

struct fs_super {
	char magic[8];       /* "DEMOFS01" */
	u32 version;         /* 1 */
	u32 total_sectors;   /* size of the filesystem */
	u32 dir_start;       /* 1 */
	u32 dir_sectors;     /* 4 */
	u32 data_start;      /* 5 */
	u32 next_free;       /* first never-allocated sector */
	char label[32];      /* NUL-terminated volume label */
};

struct fs_dirent {
	char name[48];       /* NUL-terminated; name[0] == 0 means free */
	u32 start;           /* first sector of the extent */
	u32 size;            /* file size in bytes */
	u32 capacity;        /* sectors allocated to the extent */
	u32 reserved;        /* 0 */
};

struct fs_dev {
	/* Each returns 0 on success, negative on I/O error. */
	int (*read)(void *ctx, u32 sector, void *buf512);
	int (*write)(void *ctx, u32 sector, const void *buf512);
	void *ctx;
	u32 num_sectors;
};

struct demofs {
	struct fs_dev dev;
	struct fs_super sb;
	struct fs_dirent dir[FS_MAX_FILES];
	int mounted;
};

enum { FS_OK = 0, FS_EIO = -1, FS_EINVAL = -2, FS_ENOENT = -3, FS_ENOSPC = -4, FS_EBADFS = -5,
       FS_ENAME = -6 };

const char *fs_strerror(int err);
int fs_format(struct demofs *fs, const struct fs_dev *dev, const char *label);
int fs_mount(struct demofs *fs, const struct fs_dev *dev);
int fs_find(const struct demofs *fs, const char *name);
int fs_count(const struct demofs *fs);
/* Reads up to len bytes from offset; returns bytes read or negative error. */
int fs_read(struct demofs *fs, int idx, u32 offset, void *buf, u32 len);
/* Creates or replaces a file. */
int fs_write(struct demofs *fs, const char *name, const void *data, u32 len);
int fs_remove(struct demofs *fs, const char *name);
/* Free sectors left for new extents. */
u32 fs_free_sectors(const struct demofs *fs);

#endif
