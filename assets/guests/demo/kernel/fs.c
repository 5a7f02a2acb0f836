/* demofs implementation (see fs.h for the on-disk format). */
#include "fs.h"
#include "lib.h"

typedef char fs_check_dirent[sizeof(struct fs_dirent) == 64 ? 1 : -1];
typedef char fs_check_super[sizeof(struct fs_super) <= FS_SECTOR ? 1 : -1];

static u8 sector_buf[FS_SECTOR];

const char *fs_strerror(int err)
{
	switch (err) {
	case FS_OK: return "ok";
	case FS_EIO: return "I/O error";
	case FS_EINVAL: return "invalid argument";
	case FS_ENOENT: return "no such file";
	case FS_ENOSPC: return "no space left";
	case FS_EBADFS: return "not a demofs volume";
	case FS_ENAME: return "bad file name";
	}
	return "unknown error";
}

static int valid_name(const char *name)
{
	size_t i, n = strlen(name);
	if (n == 0 || n > FS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == '/')
			return 0;
	return 1;
}

static int write_super(struct demofs *fs)
{
	memset(sector_buf, 0, FS_SECTOR);
	memcpy(sector_buf, &fs->sb, sizeof(fs->sb));
	return fs->dev.write(fs->dev.ctx, 0, sector_buf) ? FS_EIO : FS_OK;
}

/* Writes the directory sector that holds entry idx. */
static int write_dir_sector(struct demofs *fs, int idx)
{
	u32 per = FS_SECTOR / sizeof(struct fs_dirent);
	u32 s = (u32)idx / per;
	memcpy(sector_buf, &fs->dir[s * per], FS_SECTOR);
	return fs->dev.write(fs->dev.ctx, fs->sb.dir_start + s, sector_buf) ? FS_EIO : FS_OK;
}

int fs_format(struct demofs *fs, const struct fs_dev *dev, const char *label)
{
	int i;
	if (dev->num_sectors < FS_DATA_START + 1)
		return FS_ENOSPC;
	memset(fs, 0, sizeof(*fs));
	fs->dev = *dev;
	memcpy(fs->sb.magic, FS_MAGIC, 8);
	fs->sb.version = FS_VERSION;
	fs->sb.total_sectors = dev->num_sectors;
	fs->sb.dir_start = FS_DIR_START;
	fs->sb.dir_sectors = FS_DIR_SECTORS;
	fs->sb.data_start = FS_DATA_START;
	fs->sb.next_free = FS_DATA_START;
	strlcpy(fs->sb.label, label ? label : "", sizeof(fs->sb.label));
	for (i = 0; i < FS_DIR_SECTORS; i++)
		if (write_dir_sector(fs, i * (FS_SECTOR / 64)))
			return FS_EIO;
	if (write_super(fs))
		return FS_EIO;
	fs->mounted = 1;
	return FS_OK;
}

int fs_mount(struct demofs *fs, const struct fs_dev *dev)
{
	u32 i;
	memset(fs, 0, sizeof(*fs));
	fs->dev = *dev;
	if (dev->read(dev->ctx, 0, sector_buf))
		return FS_EIO;
	memcpy(&fs->sb, sector_buf, sizeof(fs->sb));
	fs->sb.label[sizeof(fs->sb.label) - 1] = 0;
	if (memcmp(fs->sb.magic, FS_MAGIC, 8) || fs->sb.version != FS_VERSION ||
	    fs->sb.dir_start != FS_DIR_START || fs->sb.dir_sectors != FS_DIR_SECTORS ||
	    fs->sb.data_start != FS_DATA_START || fs->sb.total_sectors > dev->num_sectors ||
	    fs->sb.next_free < FS_DATA_START || fs->sb.next_free > fs->sb.total_sectors)
		return FS_EBADFS;
	for (i = 0; i < FS_DIR_SECTORS; i++) {
		if (dev->read(dev->ctx, FS_DIR_START + i, sector_buf))
			return FS_EIO;
		memcpy((u8 *)fs->dir + i * FS_SECTOR, sector_buf, FS_SECTOR);
	}
	for (i = 0; i < FS_MAX_FILES; i++) {
		struct fs_dirent *d = &fs->dir[i];
		d->name[sizeof(d->name) - 1] = 0;
		if (!d->name[0])
			continue;
		/* Reject extents outside the allocated area or sizes beyond them. */
		if (d->capacity > fs->sb.total_sectors || d->start > fs->sb.total_sectors - d->capacity ||
		    (d->capacity && d->start < FS_DATA_START) || d->size > d->capacity * FS_SECTOR)
			return FS_EBADFS;
	}
	fs->mounted = 1;
	return FS_OK;
}

int fs_find(const struct demofs *fs, const char *name)
{
	int i;
	for (i = 0; i < FS_MAX_FILES; i++)
		if (fs->dir[i].name[0] && !strcmp(fs->dir[i].name, name))
			return i;
	return FS_ENOENT;
}

int fs_count(const struct demofs *fs)
{
	int i, n = 0;
	for (i = 0; i < FS_MAX_FILES; i++)
		if (fs->dir[i].name[0])
			n++;
	return n;
}

u32 fs_free_sectors(const struct demofs *fs)
{
	return fs->sb.total_sectors - fs->sb.next_free;
}

int fs_read(struct demofs *fs, int idx, u32 offset, void *buf, u32 len)
{
	const struct fs_dirent *d;
	u32 done = 0;
	if (!fs->mounted || idx < 0 || idx >= FS_MAX_FILES || !fs->dir[idx].name[0])
		return FS_ENOENT;
	d = &fs->dir[idx];
	if (offset >= d->size)
		return 0;
	if (len > d->size - offset)
		len = d->size - offset;
	while (done < len) {
		u32 pos = offset + done;
		u32 in = pos % FS_SECTOR, n = FS_SECTOR - in;
		if (n > len - done)
			n = len - done;
		if (fs->dev.read(fs->dev.ctx, d->start + pos / FS_SECTOR, sector_buf))
			return FS_EIO;
		memcpy((u8 *)buf + done, sector_buf + in, n);
		done += n;
	}
	return (int)done;
}

int fs_write(struct demofs *fs, const char *name, const void *data, u32 len)
{
	int idx, i, err, reuse;
	u32 need, start, s;
	struct fs_dirent *d;

	if (!fs->mounted)
		return FS_EBADFS;
	if (!valid_name(name))
		return FS_ENAME;
	need = (len + FS_SECTOR - 1) / FS_SECTOR;
	idx = fs_find(fs, name);
	if (idx < 0) {
		for (i = 0; i < FS_MAX_FILES && fs->dir[i].name[0]; i++)
			;
		if (i == FS_MAX_FILES)
			return FS_ENOSPC;
		idx = i;
	}
	d = &fs->dir[idx];
	reuse = d->name[0] && need <= d->capacity; /* fits in the old extent */
	if (reuse) {
		start = d->start;
	} else {
		if (need > fs->sb.total_sectors - fs->sb.next_free)
			return FS_ENOSPC;
		start = fs->sb.next_free;
	}
	for (s = 0; s < need; s++) {
		u32 n = len - s * FS_SECTOR;
		if (n > FS_SECTOR)
			n = FS_SECTOR;
		memset(sector_buf, 0, FS_SECTOR);
		memcpy(sector_buf, (const u8 *)data + s * FS_SECTOR, n);
		if (fs->dev.write(fs->dev.ctx, start + s, sector_buf))
			return FS_EIO;
	}
	if (!reuse) {
		fs->sb.next_free += need;
		d->start = start;
		d->capacity = need;
	}
	memset(d->name, 0, sizeof(d->name));
	strlcpy(d->name, name, sizeof(d->name));
	d->size = len;
	d->reserved = 0;
	err = write_dir_sector(fs, idx);
	if (err)
		return err;
	return write_super(fs);
}

int fs_remove(struct demofs *fs, const char *name)
{
	int idx = fs_find(fs, name);
	if (!fs->mounted)
		return FS_EBADFS;
	if (idx < 0)
		return idx;
	memset(&fs->dir[idx], 0, sizeof(fs->dir[idx]));
	return write_dir_sector(fs, idx);
}
