/* The compiled lane of the GDELT reader: one pass over a block (gdelt_fast.py explains the lane, and
 * compiles this file with the system's C compiler on first use; it is loaded with ctypes).
 *
 * read_block: every line of u[0:n] in one pass: its start, stop (without CR LF), SQLDATE (sqldate) and
 * status, and the rows taken (take) while the line is still in cache. Status: 0 blank; 1 outside the
 * filter (only counted by date); 2 for the plain reader (not taken, or outside the filter with an
 * unreadable date); 3 taken, outside the countries; 4 taken and kept. With a filter only lines holding
 * a tab-delimited code are tokenised.
 *
 * 64-byte chunks are tested a group at a time (vectorised, in L1) for a newline and for each code; only
 * a chunk that has one is looked at byte by byte. Returns the number of lines and sets *kept, or
 * returns -1 when there are more lines than the outputs hold (cap).
 *
 * Outputs are column-major with row stride cap: ints[slot * cap + row] (numbers and dates), ivalid
 * likewise; for each text field (strings, and decimals that Arrow converts) the bytes go to its region
 * of sbuf from base[slot], with Arrow offsets offsets[slot * (cap + 1) + row] relative to base[slot].
 */
#include <stdint.h>
#include <string.h>

enum { STRING, INT, FLOAT, DATE, ADDED14, ADDED8, EVENT_ID };
#define NO_DATE (-(INT64_C(1) << 31))
#define MAXC 64 /* the widest accepted layout has 61 columns */

#if defined(__x86_64__) && defined(__GNUC__)
#define HOT __attribute__((target_clones("avx2", "default")))
#else
#define HOT
#endif

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
 * `_event_dates` (the first tab among bytes 1..20, then 8 digits and a tab, a real date) */
static inline int64_t sqldate(const uint8_t *u, int64_t s, int64_t e) {
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
} plan_t;

/* Tokenise and type the line u[s:e] as kept row o. Returns 0 when it is not taken (the plain reader
 * does it), 1 when it is taken but outside the countries, 2 when it is taken and kept (without a
 * filter every taken row is kept). */
static inline int take(const uint8_t *u, int64_t s, int64_t e, int64_t o, const plan_t *P) {
    int64_t fs[MAXC + 1], fe[MAXC + 1];
    int64_t maxc = P->widths[P->nwidth - 1];
    int64_t nf = 0;
    fs[0] = s;
    for (int64_t p = s; p < e; p++) {
        uint8_t b = u[p];
        if (b == 9) {
            if (nf < maxc) fe[nf] = p;
            nf++;
            if (nf < maxc) fs[nf] = p + 1;
        } else if (b == 13) {
            return 0;
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
            if (kind == STRING || kind == FLOAT) {
                P->tvalid[slot * cap + o] = 0;
                P->offsets[slot * (cap + 1) + o + 1] = (int32_t)(P->at[slot] - P->base[slot]);
            } else {
                P->ivalid[slot * cap + o] = 0;
            }
            continue;
        }
        if (kind == STRING || kind == FLOAT) {
            if (kind == FLOAT && !is_decimal(u, a, z)) { ok = 0; break; }
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

HOT static void flag_newlines(const uint8_t *u, int64_t c_lo, int64_t c_hi, uint8_t *flags) {
    for (int64_t c = c_lo; c < c_hi; c++) {
        const uint8_t *b = u + c * 64;
        uint8_t acc = 0;
        for (int j = 0; j < 64; j++) acc |= (uint8_t)(b[j] == 10);
        flags[c - c_lo] = acc;
    }
}

HOT static void flag_code(const uint8_t *u, int64_t c_lo, int64_t c_hi, uint8_t c0, uint8_t c1, uint8_t c2,
                          uint8_t *flags) {
    for (int64_t c = c_lo; c < c_hi; c++) {
        const uint8_t *b = u + c * 64;
        uint8_t acc = 0;
        for (int j = 0; j < 64; j++)
            acc |= (uint8_t)(b[j] == 9) & (uint8_t)(b[j + 1] == c0) & (uint8_t)(b[j + 2] == c1) &
                   (uint8_t)(b[j + 3] == c2) & (uint8_t)(b[j + 4] == 9);
        flags[c - c_lo] |= acc;
    }
}

int64_t read_block(const uint8_t *u, int64_t n, const uint8_t *codes, int64_t ncode, const int64_t *widths,
                   int64_t nwidth, const int64_t *columns, const int64_t *kinds, const int64_t *slots,
                   const int64_t *lo, const int64_t *hi, int64_t nfield, const int64_t *country_fields,
                   int64_t ncountry, int64_t cap, int64_t *starts, int64_t *stops, int64_t *dates,
                   uint8_t *status, int64_t *ints, uint8_t *ivalid, const int64_t *base, int64_t ntext,
                   int32_t *offsets, uint8_t *tvalid, uint8_t *sbuf, int64_t *kept) {
    enum { C = 64, G = 256 }; /* chunks of 64 bytes, tested 256 at a time (16 KB) */
    int64_t at[MAXC], row_at[MAXC];
    if (ntext > MAXC || widths[nwidth - 1] > MAXC) return -2;
    plan_t P = {codes, ncode, widths, nwidth, columns, kinds, slots, lo, hi, nfield, country_fields, ncountry,
                cap, ints, ivalid, base, ntext, offsets, tvalid, sbuf, at, row_at};
    for (int64_t j = 0; j < ntext; j++) {
        at[j] = base[j];
        offsets[j * (cap + 1)] = 0;
    }
    uint8_t flags[G];
    int64_t k = 0, o = 0, line_start = 0;
    int hit = 0;
    int64_t nc = n >= 4 + C ? (n - 4) / C : 0; /* whole chunks, with 4 bytes to spare for a code */
    for (int64_t g0 = 0; g0 < nc + 1; g0 += G) {
        int64_t g1 = g0 + G < nc ? g0 + G : nc;
        if (g1 > g0) {
            flag_newlines(u, g0, g1, flags);
            for (int64_t q = 0; q < ncode; q++)
                flag_code(u, g0, g1, codes[3 * q], codes[3 * q + 1], codes[3 * q + 2], flags);
        }
        int64_t c_end = g0 + G < nc + 1 ? g0 + G : nc + 1;
        for (int64_t c = g0; c < c_end; c++) {
            int64_t chunk = c * C;
            int64_t end = c < nc ? chunk + C : n;
            if (c < nc && flags[c - g0] == 0) continue;
            for (int64_t p = chunk; p < end; p++) {
                uint8_t b = u[p];
                if (b == 10 || p == n - 1) {
                    if (k == cap) return -1;
                    int64_t stop = b == 10 ? p : n; /* the last line may end without a newline */
                    if (stop > line_start && u[stop - 1] == 13) stop--;
                    starts[k] = line_start;
                    stops[k] = stop;
                    if (stop == line_start) {
                        status[k] = 0;
                    } else {
                        int64_t date = sqldate(u, line_start, stop);
                        dates[k] = date;
                        if (ncode > 0 && !hit) {
                            status[k] = date != NO_DATE ? 1 : 2;
                        } else {
                            int taken = take(u, line_start, stop, o, &P);
                            status[k] = taken == 0 ? 2 : (uint8_t)(taken + 2);
                            o += taken == 2;
                        }
                    }
                    k++;
                    line_start = p + 1;
                    hit = 0;
                } else if (b == 9 && p + 4 < n && u[p + 4] == 9) {
                    for (int64_t q = 0; q < ncode; q++)
                        if (u[p + 1] == codes[3 * q] && u[p + 2] == codes[3 * q + 1] && u[p + 3] == codes[3 * q + 2])
                            hit = 1;
                }
            }
        }
    }
    *kept = o;
    return k;
}
