/* The compiled lane of the GDELT reader: one pass over a block (gdelt_fast.py explains the lane;
 * native.py compiles this file with the system's C compiler on first use; it is loaded with ctypes).
 *
 * read_block: every line of u[0:n] in one pass: its start, SQLDATE (sqldate, read up to the line's
 * end without CR LF) and status, and the rows taken (take) while the line is still in cache. Status:
 * 0 blank; 1 outside the filter (only counted by date); 2 for the plain reader (not taken, or outside
 * the filter with an unreadable date); 3 taken, outside the countries; 4 taken and kept. With a filter
 * only lines holding a tab-delimited code are tokenised.
 *
 * The kept rows of the main month (*main_month, months since 1970; NO_MONTH: the month of the first
 * line taken) come first, in line order, then those of other months (taken after the pass), also in
 * line order; rows[] holds the line of each kept row.
 *
 * Each 64 bytes give a mask of newlines and one of tabs (SSE2, or AVX2 where the build has it); the
 * set bits are visited in order, so the bytes in between are never looked at one by one, and a line's
 * fields are cut from its tab mask. The same pass checks that the block is valid UTF-8 (only where a
 * byte is not ASCII).
 * Returns the number of lines and sets *kept; -1 when there are more lines than the outputs hold (cap),
 * -3 when the block is not valid UTF-8 (then the plain reader reads it).
 *
 * Outputs are column-major with row stride cap: ints[slot * cap + row] (numbers and dates, and the bits
 * of decimals as doubles), ivalid likewise; for each string field the bytes go to its region of sbuf
 * from base[slot], with Arrow offsets offsets[slot * (cap + 1) + row] relative to base[slot].
 */
#define _GNU_SOURCE
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* one vector's worth of bytes: 32 with AVX2, 16 with SSE2 (masks64 is written once for both) */
#if defined(__AVX2__)
#include <immintrin.h>
#define VBYTES 32
typedef __m256i vec_t;
#define VLOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define VSET(c) _mm256_set1_epi8((char)(c))
#define VEQ(a, b) _mm256_cmpeq_epi8(a, b)
#define VOR(a, b) _mm256_or_si256(a, b)
#define VMASK(v) ((uint64_t)(uint32_t)_mm256_movemask_epi8(v))
#elif defined(__SSE2__)
#include <emmintrin.h>
#define VBYTES 16
typedef __m128i vec_t;
#define VLOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define VSET(c) _mm_set1_epi8((char)(c))
#define VEQ(a, b) _mm_cmpeq_epi8(a, b)
#define VOR(a, b) _mm_or_si128(a, b)
#define VMASK(v) ((uint64_t)(uint16_t)_mm_movemask_epi8(v))
#endif

enum { STRING, INT, FLOAT, DATE, ADDED14, ADDED8, EVENT_ID };
#define NO_DATE (-(INT64_C(1) << 31))
#define NO_MONTH INT64_MIN
#define MAXC 64 /* the widest accepted layout has 61 columns */
#define MAXLEAD 4 /* first letters of the codes looked for in one SIMD pass */

/* bit j of *nl / *tab / *high / *lead: whether p[j] is a newline / a tab / not ASCII / one of the
 * nlead bytes of leads, for the 64 bytes at p */
static inline void masks64(const uint8_t *p, const uint8_t *leads, int nlead, uint64_t *nl, uint64_t *tab,
                           uint64_t *high, uint64_t *lead) {
#if defined(VBYTES)
    const vec_t vn = VSET('\n'), vt = VSET('\t');
    uint64_t n_ = 0, t_ = 0, h_ = 0, l_ = 0;
    for (int k = 0; k < 64 / VBYTES; k++) {
        vec_t v = VLOAD(p + VBYTES * k);
        n_ |= VMASK(VEQ(v, vn)) << (VBYTES * k);
        t_ |= VMASK(VEQ(v, vt)) << (VBYTES * k);
        h_ |= VMASK(v) << (VBYTES * k);
        if (nlead) {
            vec_t m = VEQ(v, VSET(leads[0]));
            if (nlead > 1) m = VOR(m, VEQ(v, VSET(leads[1])));
            if (nlead > 2) m = VOR(m, VEQ(v, VSET(leads[2])));
            if (nlead > 3) m = VOR(m, VEQ(v, VSET(leads[3])));
            l_ |= VMASK(m) << (VBYTES * k);
        }
    }
#else
    uint64_t n_ = 0, t_ = 0, h_ = 0, l_ = 0;
    for (int j = 0; j < 64; j++) {
        n_ |= (uint64_t)(p[j] == '\n') << j;
        t_ |= (uint64_t)(p[j] == '\t') << j;
        h_ |= (uint64_t)(p[j] >> 7) << j;
        for (int q = 0; q < nlead; q++) l_ |= (uint64_t)(p[j] == leads[q]) << j;
    }
#endif
    *nl = n_;
    *tab = t_;
    *high = h_;
    *lead = l_;
}

/* the masks of the 64 bytes at u[at:], of which only those before n exist (the rest count as neither) */
static inline void masks_at(const uint8_t *u, int64_t at, int64_t n, const uint8_t *leads, int nlead,
                            uint64_t *nl, uint64_t *tab, uint64_t *high, uint64_t *lead) {
    if (at + 64 <= n) {
        masks64(u + at, leads, nlead, nl, tab, high, lead);
        return;
    }
    uint8_t pad[64] = {0};
    if (at < n) memcpy(pad, u + at, (size_t)(n - at));
    masks64(pad, leads, nlead, nl, tab, high, lead);
}

static inline int cont(const uint8_t *u, int64_t p, int64_t n) { return p < n && (u[p] & 0xC0) == 0x80; }

/* Check the UTF-8 sequences that start in u[p:to] (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF, none cut off by the end at n), as Arrow and Python check them. Returns where the
 * next unchecked sequence starts (at or past `to`), or -1 at the first invalid one. */
static int64_t check_utf8(const uint8_t *u, int64_t p, int64_t to, int64_t n) {
    while (p < to) {
        uint8_t b = u[p];
        if (b < 0x80) { p++; continue; }
        if (b >= 0xC2 && b <= 0xDF) {
            if (!cont(u, p + 1, n)) return -1;
            p += 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            if (p + 1 >= n) return -1;
            uint8_t c = u[p + 1];
            if ((b == 0xE0 && (c < 0xA0 || c > 0xBF)) || (b == 0xED && (c < 0x80 || c > 0x9F)) ||
                (b != 0xE0 && b != 0xED && (c & 0xC0) != 0x80) || !cont(u, p + 2, n))
                return -1;
            p += 3;
        } else if (b >= 0xF0 && b <= 0xF4) {
            if (p + 1 >= n) return -1;
            uint8_t c = u[p + 1];
            if ((b == 0xF0 && (c < 0x90 || c > 0xBF)) || (b == 0xF4 && (c < 0x80 || c > 0x8F)) ||
                (b != 0xF0 && b != 0xF4 && (c & 0xC0) != 0x80) || !cont(u, p + 2, n) || !cont(u, p + 3, n))
                return -1;
            p += 4;
        } else {
            return -1;
        }
    }
    return p;
}

static inline int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static inline int real_date(int64_t y, int64_t m, int64_t d) {
    if (m < 1 || m > 12 || d < 1 || y < 1) return 0;
    if (m == 2) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return d <= (leap ? 29 : 28);
    }
    if (m == 4 || m == 6 || m == 9 || m == 11) return d <= 30;
    return d <= 31;
}

/* the number written by u[s:s+width] if all are ASCII digits, else -1 */
static inline int64_t digits(const uint8_t *u, int64_t s, int width) {
    int64_t v = 0;
    for (int64_t p = s; p < s + width; p++) {
        uint8_t b = u[p];
        if (b < 48 || b > 57) return -1;
        v = v * 10 + (b - 48);
    }
    return v;
}

/* SQLDATE of the line u[s:e] as days since 1970, NO_DATE where it cannot be read: the plain reader's
 * `_event_dates` (the first tab among bytes 1..20, then 8 digits and a tab, a real date); *month is
 * its month (months since January 1970), or NO_MONTH */
static inline int64_t sqldate(const uint8_t *u, int64_t s, int64_t e, int64_t *month) {
    *month = NO_MONTH;
    int64_t tab = -1;
    for (int k = 1; k < 21; k++) {
        if (s + k >= e) break;
        if (u[s + k] == 9) { tab = s + k; break; }
    }
    if (tab < 0) return NO_DATE;
    int64_t pos = tab + 1;
    if (!(pos + 8 < e) || u[pos + 8] != 9) return NO_DATE;
    int64_t y = digits(u, pos, 4), m = digits(u, pos + 4, 2), d = digits(u, pos + 6, 2);
    if (y < 0 || m < 0 || d < 0 || !real_date(y, m, d)) return NO_DATE;
    *month = (y - 1970) * 12 + m - 1;
    return days_from_civil(y, m, d);
}

/* ok only for 0 or -?[1-9][0-9]* within lo..hi (up to 18 digits) */
static inline int int_of(const uint8_t *u, int64_t s, int64_t e, int64_t lo, int64_t hi, int64_t *out) {
    int neg = u[s] == 45;
    int64_t p = neg ? s + 1 : s;
    int64_t n = e - p;
    if (n < 1 || n > 18) return 0;
    if (u[p] == 48 && (n > 1 || neg)) return 0;
    int64_t v = 0;
    for (int64_t q = p; q < e; q++) {
        uint8_t b = u[q];
        if (b < 48 || b > 57) return 0;
        v = v * 10 + (b - 48);
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* whether u[s:e] is -?[0-9]+(.[0-9]+)? with at most 25 digits: a finite number in the form GDELT
 * writes, which Arrow's cast then converts (the same conversion as the plain reader's) */
static inline int is_decimal(const uint8_t *u, int64_t s, int64_t e) {
    int64_t p = u[s] == 45 ? s + 1 : s;
    int digits_ = 0, frac = -1;
    for (int64_t q = p; q < e; q++) {
        uint8_t b = u[q];
        if (b == 46) {
            if (frac >= 0 || digits_ == 0) return 0;
            frac = 0;
        } else if (b >= 48 && b <= 57) {
            digits_++;
            if (frac >= 0) frac++;
        } else {
            return 0;
        }
    }
    return digits_ > 0 && digits_ <= 25 && frac != 0;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static locale_t c_numeric;

/* The value of u[s:e], which is_decimal accepted, correctly rounded (as Arrow's cast, which the plain
 * reader uses, rounds it: so the two agree bit for bit). Up to 2^53 as an integer and 22 decimals, one
 * IEEE division of two exact doubles is correctly rounded; longer numbers go to strtod (C locale). */
static inline double decimal_value(const uint8_t *u, int64_t s, int64_t e) {
    int neg = u[s] == 45;
    uint64_t m = 0;
    int digits_ = 0, frac = 0, point = 0;
    for (int64_t q = neg ? s + 1 : s; q < e; q++) {
        if (u[q] == 46) { point = 1; continue; }
        m = m * 10 + (uint64_t)(u[q] - 48);
        digits_++;
        frac += point;
    }
    if (digits_ <= 19 && m <= (UINT64_C(1) << 53) && frac <= 22) {
        double v = (double)m / POW10[frac];
        return neg ? -v : v;
    }
    char text[32]; /* is_decimal allows 25 digits, a sign and a point */
    memcpy(text, u + s, (size_t)(e - s));
    text[e - s] = 0;
    if (!c_numeric) c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    return strtod_l(text, NULL, c_numeric);
}

typedef struct {
    const uint8_t *codes; int64_t ncode;
    const int64_t *widths; int64_t nwidth;
    const int64_t *columns; /* (nwidth, nfield) */
    const int64_t *kinds, *slots, *lo, *hi; int64_t nfield;
    const int64_t *country_fields; int64_t ncountry;
    int64_t cap;
    int64_t *ints; uint8_t *ivalid;
    const int64_t *base; int64_t ntext;
    int32_t *offsets; uint8_t *tvalid; uint8_t *sbuf;
    int64_t *at, *row_at;
    int64_t n; /* the block's length: a line's last 64 bytes may be read past its end, not past this */
} plan_t;

/* Tokenise and type the line u[s:e] as kept row o. Returns 0 when it is not taken (the plain reader
 * does it), 1 when it is taken but outside the countries, 2 when it is taken and kept (without a
 * filter every taken row is kept). */
static inline int take(const uint8_t *u, int64_t s, int64_t e, int64_t o, const plan_t *P) {
    int64_t fs[MAXC + 1], fe[MAXC + 1];
    int64_t maxc = P->widths[P->nwidth - 1];
    int64_t nf = 0;
    fs[0] = s;
    if (memchr(u + s, 13, (size_t)(e - s))) return 0; /* a stray CR: the plain reader decides */
    for (int64_t at = s; at < e; at += 64) {
        uint64_t nl, tab, high, lead;
        masks_at(u, at, P->n, NULL, 0, &nl, &tab, &high, &lead);
        if (e - at < 64) tab &= (UINT64_C(1) << (e - at)) - 1; /* only the line's own bytes */
        while (tab) {
            int64_t p = at + __builtin_ctzll(tab);
            tab &= tab - 1;
            if (nf < maxc) fe[nf] = p;
            nf++;
            if (nf < maxc) fs[nf] = p + 1;
        }
    }
    if (nf < maxc) fe[nf] = e;
    nf++;
    int64_t layout = -1;
    for (int64_t w = 0; w < P->nwidth; w++)
        if (P->widths[w] == nf) layout = w;
    if (layout < 0) return 0;
    const int64_t *cols = P->columns + layout * P->nfield;
    int keep = 1;
    if (P->ncode > 0) { /* outside the countries only whether the row is taken matters (the totals) */
        keep = 0;
        for (int64_t t = 0; t < P->ncountry; t++) {
            int64_t col = cols[P->country_fields[t]];
            if (col < 0 || fe[col] - fs[col] != 3) continue;
            int64_t a = fs[col];
            for (int64_t q = 0; q < P->ncode; q++) {
                const uint8_t *c = P->codes + 3 * q;
                if (u[a] == c[0] && u[a + 1] == c[1] && u[a + 2] == c[2]) keep = 1;
            }
        }
    }
    int64_t cap = P->cap;
    for (int64_t j = 0; j < P->ntext; j++) P->row_at[j] = P->at[j];
    int ok = 1;
    for (int64_t f = 0; f < P->nfield; f++) {
        int64_t col = cols[f], kind = P->kinds[f], slot = P->slots[f];
        int64_t a = col >= 0 ? fs[col] : 0, z = col >= 0 ? fe[col] : 0;
        if (z == a) { /* empty or missing from the layout: null, where allowed */
            if (kind == EVENT_ID || kind == DATE) { ok = 0; break; }
            if (kind == STRING) {
                P->tvalid[slot * cap + o] = 0;
                P->offsets[slot * (cap + 1) + o + 1] = (int32_t)(P->at[slot] - P->base[slot]);
            } else {
                P->ivalid[slot * cap + o] = 0;
            }
            continue;
        }
        if (kind == FLOAT) { /* its bits in the integer outputs */
            if (!is_decimal(u, a, z)) { ok = 0; break; }
            if (!keep) continue;
            double v = decimal_value(u, a, z);
            memcpy(&P->ints[slot * cap + o], &v, sizeof v);
            P->ivalid[slot * cap + o] = 1;
        } else if (kind == STRING) {
            if (!keep) continue;
            int64_t w0 = P->at[slot];
            memcpy(P->sbuf + w0, u + a, (size_t)(z - a));
            w0 += z - a;
            P->at[slot] = w0;
            P->tvalid[slot * cap + o] = 1;
            P->offsets[slot * (cap + 1) + o + 1] = (int32_t)(w0 - P->base[slot]);
        } else if (kind == INT || kind == EVENT_ID) {
            int64_t iv;
            if (!int_of(u, a, z, P->lo[f], P->hi[f], &iv)) { ok = 0; break; }
            P->ints[slot * cap + o] = iv;
            P->ivalid[slot * cap + o] = 1;
        } else { /* DATE, ADDED8 (a date as seconds), ADDED14 (a time as seconds) */
            int width = kind == ADDED14 ? 14 : 8;
            if (z - a != width) { ok = 0; break; }
            int64_t y = digits(u, a, 4), m = digits(u, a + 4, 2), d = digits(u, a + 6, 2);
            if (y < 1000 || m < 0 || d < 0 || !real_date(y, m, d)) { ok = 0; break; }
            int64_t days = days_from_civil(y, m, d);
            if (kind == DATE) {
                P->ints[slot * cap + o] = days;
            } else if (kind == ADDED8) {
                P->ints[slot * cap + o] = days * 86400;
            } else {
                int64_t hh = digits(u, a + 8, 2), mm = digits(u, a + 10, 2), ss = digits(u, a + 12, 2);
                if (hh < 0 || mm < 0 || ss < 0 || hh > 23 || mm > 59 || ss > 59) { ok = 0; break; }
                P->ints[slot * cap + o] = days * 86400 + hh * 3600 + mm * 60 + ss;
            }
            P->ivalid[slot * cap + o] = 1;
        }
    }
    if (!ok || !keep) {
        for (int64_t j = 0; j < P->ntext; j++) P->at[j] = P->row_at[j];
        return ok ? 1 : 0;
    }
    return 2;
}

/* what read_block records per line and per kept row */
typedef struct {
    int64_t *starts, *dates; uint8_t *status;
    int64_t *rows;     /* the line of each kept row */
    int64_t *deferred; /* (line, end) of the lines taken after the others: outside the main month */
    int64_t ndeferred, kept, main; /* main: the month whose rows come first (NO_MONTH: not yet known) */
} lines_t;

static inline void take_line(const uint8_t *u, int64_t s, int64_t stop, int64_t k, const plan_t *P,
                             lines_t *L) {
    int taken = take(u, s, stop, L->kept, P);
    L->status[k] = taken == 0 ? 2 : (uint8_t)(taken + 2);
    if (taken == 2) L->rows[L->kept++] = k;
}

/* the line u[s:stop] as line k: its start, date and status, and its row when it is taken. A line of
 * another month than the main one is taken after all the others (`deferred`), so that the rows of the
 * main month come first, together: the store then writes them to their partition without a copy. */
static inline void end_line(const uint8_t *u, int64_t s, int64_t stop, int64_t k, int hit, const plan_t *P,
                            lines_t *L) {
    L->starts[k] = s;
    if (stop == s) {
        L->status[k] = 0;
        return;
    }
    int64_t month;
    int64_t date = sqldate(u, s, stop, &month);
    L->dates[k] = date;
    if (P->ncode > 0 && !hit) {
        L->status[k] = date != NO_DATE ? 1 : 2;
        return;
    }
    if (month != NO_MONTH && month != L->main) {
        if (L->main == NO_MONTH) {
            L->main = month;
        } else {
            L->deferred[2 * L->ndeferred] = k;
            L->deferred[2 * L->ndeferred + 1] = stop;
            L->ndeferred++;
            return;
        }
    }
    take_line(u, s, stop, k, P, L);
}

int64_t read_block(const uint8_t *u, int64_t n, const uint8_t *codes, int64_t ncode, const int64_t *widths,
                   int64_t nwidth, const int64_t *columns, const int64_t *kinds, const int64_t *slots,
                   const int64_t *lo, const int64_t *hi, int64_t nfield, const int64_t *country_fields,
                   int64_t ncountry, int64_t cap, int64_t *starts, int64_t *dates,
                   uint8_t *status, int64_t *ints, uint8_t *ivalid, const int64_t *base, int64_t ntext,
                   int32_t *offsets, uint8_t *tvalid, uint8_t *sbuf, int64_t *kept, int64_t *rows,
                   int64_t *deferred, int64_t *main_month) {
    int64_t at[MAXC], row_at[MAXC];
    if (ntext > MAXC || widths[nwidth - 1] > MAXC) return -2;
    plan_t P = {codes, ncode, widths, nwidth, columns, kinds, slots, lo, hi, nfield, country_fields, ncountry,
                cap, ints, ivalid, base, ntext, offsets, tvalid, sbuf, at, row_at, n};
    for (int64_t j = 0; j < ntext; j++) {
        at[j] = base[j];
        offsets[j * (cap + 1)] = 0;
    }
    lines_t L = {starts, dates, status, rows, deferred, 0, 0, *main_month};
    int64_t k = 0, line_start = 0;
    int hit = 0;
    /* 64 bytes at a time: a mask of the newlines and one of the tabs; a code can only stand between two
     * tabs four bytes apart, so only those pairs are compared with the codes (a pair may straddle two
     * chunks: the next chunk's tabs are read one step ahead) */
    uint64_t nl, tab, high, lead, nl_next, tab_next, high_next, lead_next;
    int64_t checked = 0; /* UTF-8 is checked up to here (a sequence may run into the next 64 bytes) */
    /* the distinct first letters of the codes: only a pair of tabs followed by one of them is compared
     * with the codes (most 3-letter fields are other codes: GOV, 042, USA); with more than MAXLEAD of
     * them every pair is compared */
    uint8_t leads[MAXLEAD];
    int nlead = 0;
    for (int64_t q = 0; q < ncode && nlead <= MAXLEAD; q++) {
        int seen = 0;
        for (int j = 0; j < nlead && j < MAXLEAD; j++) seen |= leads[j] == codes[3 * q];
        if (!seen) {
            if (nlead < MAXLEAD) leads[nlead] = codes[3 * q];
            nlead++;
        }
    }
    if (nlead > MAXLEAD || ncode == 0) nlead = 0;
    masks_at(u, 0, n, leads, nlead, &nl, &tab, &high, &lead);
    for (int64_t pos = 0; pos < n; pos += 64) {
        masks_at(u, pos + 64, n, leads, nlead, &nl_next, &tab_next, &high_next, &lead_next);
        if (high) { /* not all ASCII: check the sequences starting here */
            int64_t from = checked > pos ? checked : pos + __builtin_ctzll(high);
            checked = check_utf8(u, from, pos + 64 < n ? pos + 64 : n, n);
            if (checked < 0) return -3;
        }
        uint64_t pairs = 0;
        if (ncode > 0) {
            pairs = tab & ((tab >> 4) | (tab_next << 60));
            if (nlead) pairs &= (lead >> 1) | (lead_next << 63);
        }
        while (nl | pairs) {
            int pn = nl ? __builtin_ctzll(nl) : 64;
            int pt = pairs ? __builtin_ctzll(pairs) : 64;
            if (pt < pn) {
                pairs &= pairs - 1;
                if (hit) continue;
                const uint8_t *c3 = u + pos + pt + 1;
                for (int64_t q = 0; q < ncode; q++)
                    if (c3[0] == codes[3 * q] && c3[1] == codes[3 * q + 1] && c3[2] == codes[3 * q + 2]) hit = 1;
                continue;
            }
            nl &= nl - 1;
            int64_t p = pos + pn;
            if (k == cap) return -1;
            int64_t stop = p;
            if (stop > line_start && u[stop - 1] == 13) stop--;
            end_line(u, line_start, stop, k, hit, &P, &L);
            k++;
            line_start = p + 1;
            hit = 0;
        }
        nl = nl_next;
        tab = tab_next;
        high = high_next;
        lead = lead_next;
    }
    if (line_start < n) { /* the last line may end without a newline */
        if (k == cap) return -1;
        int64_t stop = n;
        if (stop > line_start && u[stop - 1] == 13) stop--;
        end_line(u, line_start, stop, k, hit, &P, &L);
        k++;
    }
    for (int64_t d = 0; d < L.ndeferred; d++) {
        int64_t line = deferred[2 * d];
        take_line(u, starts[line], deferred[2 * d + 1], line, &P, &L);
    }
    *kept = L.kept;
    *main_month = L.main;
    return k;
}
