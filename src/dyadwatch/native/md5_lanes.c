/* MD5 of many files at once: eight files side by side in the lanes of one vector (the rounds are the
 * same 32-bit additions, rotations and boolean functions for every message, so eight messages cost
 * about as much as one). MD5 itself is serial within a message; an ingest hashes tens of files, so
 * their lanes keep the vector full. Loaded with ctypes (native.py builds it); hashes checked against
 * hashlib in tests/test_md5_lanes.py.
 *
 * md5_files(n, paths, out, failed): the digests (16 bytes each) of n files into out; failed[i] = 1
 * where file i could not be opened or mapped (the caller then reports it its own way). Files are
 * mapped, not read: hashing reads the page cache in place.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LANES 8

typedef uint32_t v8 __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WIDE __attribute__((target_clones("avx2", "default")))
#else
#define WIDE
#endif

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

static inline uint32_t load32(const uint8_t *p) { /* MD5 words are little-endian */
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 64 steps on a state of any width T (a scalar or a vector of lanes), unrolled so that every
 * rotation is by a constant; M(i) is word i of the block. */
#define ROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))
#define FF(a, b, c, d, m, s, k) a = b + ROTL(a + ((b & c) | (~b & d)) + (k) + (m), s)
#define GG(a, b, c, d, m, s, k) a = b + ROTL(a + ((d & b) | (~d & c)) + (k) + (m), s)
#define HH(a, b, c, d, m, s, k) a = b + ROTL(a + (b ^ c ^ d) + (k) + (m), s)
#define II(a, b, c, d, m, s, k) a = b + ROTL(a + (c ^ (b | ~d)) + (k) + (m), s)
#define MD5_BLOCK(T, st, M)                                                                          \
    do {                                                                                             \
        T a = st[0], b = st[1], c = st[2], d = st[3];                                                \
        FF(a, b, c, d, M(0), 7, K[0]);\
        FF(d, a, b, c, M(1), 12, K[1]);\
        FF(c, d, a, b, M(2), 17, K[2]);\
        FF(b, c, d, a, M(3), 22, K[3]);\
        FF(a, b, c, d, M(4), 7, K[4]);\
        FF(d, a, b, c, M(5), 12, K[5]);\
        FF(c, d, a, b, M(6), 17, K[6]);\
        FF(b, c, d, a, M(7), 22, K[7]);\
        FF(a, b, c, d, M(8), 7, K[8]);\
        FF(d, a, b, c, M(9), 12, K[9]);\
        FF(c, d, a, b, M(10), 17, K[10]);\
        FF(b, c, d, a, M(11), 22, K[11]);\
        FF(a, b, c, d, M(12), 7, K[12]);\
        FF(d, a, b, c, M(13), 12, K[13]);\
        FF(c, d, a, b, M(14), 17, K[14]);\
        FF(b, c, d, a, M(15), 22, K[15]);\
        GG(a, b, c, d, M(1), 5, K[16]);\
        GG(d, a, b, c, M(6), 9, K[17]);\
        GG(c, d, a, b, M(11), 14, K[18]);\
        GG(b, c, d, a, M(0), 20, K[19]);\
        GG(a, b, c, d, M(5), 5, K[20]);\
        GG(d, a, b, c, M(10), 9, K[21]);\
        GG(c, d, a, b, M(15), 14, K[22]);\
        GG(b, c, d, a, M(4), 20, K[23]);\
        GG(a, b, c, d, M(9), 5, K[24]);\
        GG(d, a, b, c, M(14), 9, K[25]);\
        GG(c, d, a, b, M(3), 14, K[26]);\
        GG(b, c, d, a, M(8), 20, K[27]);\
        GG(a, b, c, d, M(13), 5, K[28]);\
        GG(d, a, b, c, M(2), 9, K[29]);\
        GG(c, d, a, b, M(7), 14, K[30]);\
        GG(b, c, d, a, M(12), 20, K[31]);\
        HH(a, b, c, d, M(5), 4, K[32]);\
        HH(d, a, b, c, M(8), 11, K[33]);\
        HH(c, d, a, b, M(11), 16, K[34]);\
        HH(b, c, d, a, M(14), 23, K[35]);\
        HH(a, b, c, d, M(1), 4, K[36]);\
        HH(d, a, b, c, M(4), 11, K[37]);\
        HH(c, d, a, b, M(7), 16, K[38]);\
        HH(b, c, d, a, M(10), 23, K[39]);\
        HH(a, b, c, d, M(13), 4, K[40]);\
        HH(d, a, b, c, M(0), 11, K[41]);\
        HH(c, d, a, b, M(3), 16, K[42]);\
        HH(b, c, d, a, M(6), 23, K[43]);\
        HH(a, b, c, d, M(9), 4, K[44]);\
        HH(d, a, b, c, M(12), 11, K[45]);\
        HH(c, d, a, b, M(15), 16, K[46]);\
        HH(b, c, d, a, M(2), 23, K[47]);\
        II(a, b, c, d, M(0), 6, K[48]);\
        II(d, a, b, c, M(7), 10, K[49]);\
        II(c, d, a, b, M(14), 15, K[50]);\
        II(b, c, d, a, M(5), 21, K[51]);\
        II(a, b, c, d, M(12), 6, K[52]);\
        II(d, a, b, c, M(3), 10, K[53]);\
        II(c, d, a, b, M(10), 15, K[54]);\
        II(b, c, d, a, M(1), 21, K[55]);\
        II(a, b, c, d, M(8), 6, K[56]);\
        II(d, a, b, c, M(15), 10, K[57]);\
        II(c, d, a, b, M(6), 15, K[58]);\
        II(b, c, d, a, M(13), 21, K[59]);\
        II(a, b, c, d, M(4), 6, K[60]);\
        II(d, a, b, c, M(11), 10, K[61]);\
        II(c, d, a, b, M(2), 15, K[62]);\
        II(b, c, d, a, M(9), 21, K[63]); \
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;                                              \
    } while (0)

static void md5_one(uint32_t st[4], const uint8_t *p, int64_t blocks) {
    for (int64_t k = 0; k < blocks; k++, p += 64) {
        uint32_t w[16];
        for (int j = 0; j < 16; j++) w[j] = load32(p + 4 * j);
#define W1(g) w[g]
        MD5_BLOCK(uint32_t, st, W1);
#undef W1
    }
}

/* `blocks` 64-byte blocks of each of the eight lanes' data at p[j] */
WIDE static void md5_eight(v8 st[4], const uint8_t *const p[LANES], int64_t blocks) {
    for (int64_t k = 0; k < blocks; k++) {
        v8 w[16];
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < LANES; l++) w[j][l] = load32(p[l] + 64 * k + 4 * j);
        }
#define W8(g) w[g]
        MD5_BLOCK(v8, st, W8);
#undef W8
    }
}

/* the digest of a message whose full blocks are in st, with `rem` (< 64) bytes left at p, `total` long */
static void md5_finish(uint32_t st[4], const uint8_t *p, int64_t rem, uint64_t total, uint8_t out[16]) {
    uint8_t last[128] = {0};
    if (rem) memcpy(last, p, (size_t)rem);
    last[rem] = 0x80;
    int64_t n = rem < 56 ? 64 : 128;
    uint64_t bits = total * 8;
    for (int j = 0; j < 8; j++) last[n - 8 + j] = (uint8_t)(bits >> (8 * j));
    md5_one(st, last, n / 64);
    for (int j = 0; j < 4; j++)
        for (int b = 0; b < 4; b++) out[4 * j + b] = (uint8_t)(st[j] >> (8 * b));
}

typedef struct {
    const uint8_t *data; /* the file, mapped (no copy into a buffer of ours) */
    int64_t size, at;    /* its length, the next unhashed byte */
    int64_t index;       /* which file; -1: the lane is free */
    uint32_t st[4];
} lane_t;

/* map file i into the lane; 0 when it cannot be opened or mapped */
static int start(lane_t *ln, const char *path, int64_t index) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0) { close(fd); return 0; }
    ln->size = (int64_t)sb.st_size;
    ln->data = NULL;
    if (ln->size > 0) {
        /* a file of export size is mapped in one go; a very big one page by page, read ahead */
        int populate = ln->size <= (INT64_C(256) << 20) ? MAP_POPULATE : 0;
        void *m = mmap(NULL, (size_t)ln->size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
        if (m == MAP_FAILED) { close(fd); return 0; }
        if (!populate) madvise(m, (size_t)ln->size, MADV_SEQUENTIAL);
        ln->data = m;
    }
    close(fd);
    ln->at = 0;
    ln->index = index;
    ln->st[0] = 0x67452301; ln->st[1] = 0xefcdab89; ln->st[2] = 0x98badcfe; ln->st[3] = 0x10325476;
    return 1;
}

/* every full block of the lane's file is hashed: the rest and the padding, the digest, unmap */
static void finish(lane_t *ln, uint8_t *out) {
    md5_finish(ln->st, ln->data + ln->at, ln->size - ln->at, (uint64_t)ln->size, out + 16 * ln->index);
    if (ln->data) munmap((void *)ln->data, (size_t)ln->size);
    ln->index = -1;
}

void md5_files(int64_t n, const char *const *paths, uint8_t *out, uint8_t *failed) {
    lane_t lanes[LANES];
    for (int l = 0; l < LANES; l++) lanes[l].index = -1;
    int64_t next = 0;
    for (;;) {
        int active = 0;
        for (int l = 0; l < LANES; l++) { /* every free lane takes the next file it can read */
            while (lanes[l].index < 0 && next < n) {
                int64_t i = next++;
                failed[i] = !start(&lanes[l], paths[i], i);
            }
            active += lanes[l].index >= 0;
        }
        if (!active) break;
        int64_t blocks = INT64_MAX;
        for (int l = 0; l < LANES; l++)
            if (lanes[l].index >= 0) {
                int64_t b = (lanes[l].size - lanes[l].at) / 64;
                if (b < blocks) blocks = b;
            }
        if (active >= 2 && blocks > 0) {
            /* the lanes' common blocks side by side; a free lane hashes a busy one's data, unused (eight
             * lanes at once cost about as much as one lane alone, so two busy lanes already gain) */
            int busy = 0;
            while (lanes[busy].index < 0) busy++;
            v8 st[4];
            const uint8_t *p[LANES];
            for (int l = 0; l < LANES; l++) {
                const lane_t *ln = lanes[l].index >= 0 ? &lanes[l] : &lanes[busy];
                for (int j = 0; j < 4; j++) st[j][l] = ln->st[j];
                p[l] = ln->data + ln->at;
            }
            md5_eight(st, p, blocks);
            for (int l = 0; l < LANES; l++) {
                if (lanes[l].index < 0) continue;
                for (int j = 0; j < 4; j++) lanes[l].st[j] = st[j][l];
                lanes[l].at += 64 * blocks;
            }
        } else if (active == 1) { /* the last file alone */
            for (int l = 0; l < LANES; l++) {
                lane_t *ln = &lanes[l];
                if (ln->index < 0) continue;
                int64_t b = (ln->size - ln->at) / 64;
                md5_one(ln->st, ln->data + ln->at, b);
                ln->at += 64 * b;
            }
        }
        for (int l = 0; l < LANES; l++) /* lanes with less than a block left are done */
            if (lanes[l].index >= 0 && lanes[l].size - lanes[l].at < 64) finish(&lanes[l], out);
    }
}
