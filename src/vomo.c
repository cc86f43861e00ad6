/*
 * vomo.c - the VOMO API as data.  Builds list and get URLs (with the
 * query properly percent-encoded, so a "+00:00" offset survives), and turns
 * response bodies into records: the Laravel page envelope
 * {"data":[...],"links":{...},"meta":{...}} or a single record.
 *
 * cJSON validates and reads the body; a tiny scanner over the validated
 * text then finds each record's exact bytes, so a record's payload is kept
 * as VOMO spelled it (the skip rule hashes it) and large numeric ids are
 * read digit for digit instead of through a double.  The scanner finds a
 * member by its position among its object's members, which cJSON keeps in
 * document order, never by name, and each record's text is walked once,
 * in lockstep with cJSON's element (match_value: the same types, member
 * names, order, strings and numbers at every level, without allocating),
 * so payload, id and updated_at always come from one element.
 * Where the two views could differ, the body is bad data: control bytes
 * outside strings (cJSON skips every byte up to 0x20, JSON only four),
 * and duplicate keys (however escaped) in any object the daemon reads: the
 * envelope, links and meta fail the whole page, a record only itself.
 *
 * A body that is not a page at all fails as a whole (-EINVAL, nothing
 * applied); a record that is merely malformed carries `error` and is
 * dead-lettered on its own.  Nothing here trusts the input: nesting depth
 * is bounded by cJSON, the scanner is iterative, ids are range-checked.
 */
#include "vomo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonarena.h"

/* A byte range of the body: [p, p + n). */
struct span {
    const char *p;
    size_t n;
};

/* ---- scanning validated JSON text ------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Whether any byte of the 8 in w is zero (the classic bit trick: exact as
 * to whether there is one, not which). */
#define BYTES8(c) (0x0101010101010101ull * (uint64_t)(c))
static bool word_has_zero(uint64_t w)
{
    return ((w - BYTES8(0x01)) & ~w & BYTES8(0x80)) != 0;
}

/* Whether the 8 bytes at p hold neither a quote nor a backslash. */
static bool plain8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return !word_has_zero(w ^ BYTES8('"')) && !word_has_zero(w ^ BYTES8('\\'));
}

/* The end of the string whose contents begin at p (after its closing
 * quote), or NULL when it is not closed within end: eight bytes at a time
 * while they hold neither a quote nor a backslash. */
static const char *string_close(const char *p, const char *end)
{
    for (;;) {
        while (end - p >= 8 && plain8(p))
            p += 8;
        for (; p < end && *p != '"' && *p != '\\'; p++)
            ;
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p + 1;
        if (end - p < 2)
            return NULL;
        p += 2; /* an escape: the byte after it is taken as it is */
    }
}

/* The end of the string token at p (after its closing quote), or end. */
static const char *skip_string(const char *p, const char *end)
{
    const char *e = string_close(p + 1, end);
    return e ? e : end;
}

/* Returns the end of the JSON value starting at p (iterative, any depth). */
static const char *skip_value(const char *p, const char *end)
{
    size_t depth = 0;
    while (p < end) {
        char ch = *p;
        if (ch == '"') {
            p = skip_string(p, end);
        } else if (ch == '{' || ch == '[') {
            depth++;
            p++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return p;
            depth--;
            p++;
        } else if (depth > 0) {
            p++;
            continue;
        } else if (ch == ',' || ch == ':' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            return p;
        } else {
            p++;
            continue;
        }
        if (depth == 0)
            return p;
    }
    return end;
}

/*
 * Walks the members of an object one by one: it_init() at the object's
 * text, then member_next() gives each member's key span (quotes included)
 * and value span, in order, until it returns false; it_end() then tells
 * whether the object was read to its closing brace the way the scanner
 * reads it.  Nothing is allocated.
 */
struct member_it {
    const char *p, *end;
    bool bad;
};

static void it_init(struct member_it *it, struct span obj, char open)
{
    it->end = obj.p + obj.n;
    it->p = skip_ws(obj.p, it->end);
    it->bad = it->p >= it->end || *it->p != open;
    if (!it->bad)
        it->p = skip_ws(it->p + 1, it->end);
}

static bool member_next(struct member_it *it, struct span *key, struct span *val)
{
    const char *p = it->p, *end = it->end;
    if (it->bad || p >= end || *p != '"')
        return false;
    const char *kend = skip_string(p, end);
    *key = (struct span){p, (size_t)(kend - p)};
    p = skip_ws(kend, end);
    if (p >= end || *p != ':') {
        it->bad = true;
        return false;
    }
    const char *v = skip_ws(p + 1, end), *vend = skip_value(v, end);
    if (vend == v) {
        it->bad = true;
        return false;
    }
    *val = (struct span){v, (size_t)(vend - v)};
    p = skip_ws(vend, end);
    if (p < end && *p == ',')
        p = skip_ws(p + 1, end);
    else if (p >= end || *p != '}')
        it->bad = true;
    it->p = p;
    return !it->bad || (p < end && *p == '}');
}

static bool it_end(const struct member_it *it, char close)
{
    return !it->bad && it->p < it->end && *it->p == close && skip_ws(it->p + 1, it->end) == it->end;
}

/*
 * The text of `child`, a member of the object `parent` whose text is obj:
 * found by position, never by name.  0, or -ENOENT when the scanner does
 * not see the same number of members as cJSON.
 */
static int member_span(struct span obj, const cJSON *parent, const cJSON *child, struct span *out)
{
    struct member_it it;
    struct span key, val;
    bool found = false;
    it_init(&it, obj, '{');
    const cJSON *c = parent->child;
    for (; c && member_next(&it, &key, &val); c = c->next)
        if (c == child) {
            *out = val;
            found = true;
        }
    return found && !c && it_end(&it, '}') ? 0 : -ENOENT;
}

/* The same in a text already known to be parent (span_is): the walk stops
 * at child, as the members after it were checked. */
static int verified_member_span(struct span obj, const cJSON *parent, const cJSON *child,
                                struct span *out)
{
    struct member_it it;
    struct span key;
    it_init(&it, obj, '{');
    for (const cJSON *c = parent->child; c && member_next(&it, &key, out); c = c->next)
        if (c == child)
            return 0;
    return -ENOENT;
}

/*
 * True when the string token sp (quotes included) reads as s.  Without an
 * escape its bytes must be s exactly; with one, cJSON's decoding stands
 * (it refused any escape it could not decode), and it can only shorten.
 */
static bool string_is(struct span sp, const char *s)
{
    if (sp.n < 2 || sp.p[0] != '"' || sp.p[sp.n - 1] != '"')
        return false;
    const char *in = sp.p + 1;
    size_t n = sp.n - 2, len = strlen(s);
    if (memchr(in, '\\', n))
        return len <= n;
    return len == n && memcmp(in, s, n) == 0;
}

/*
 * Where the value of `child`, a member of the object `parent` whose text is
 * obj, begins: the members before it are stepped over (found by position,
 * and the key there must read as child's name), the value itself is left
 * to the caller, who walks it in lockstep with child (a page's data array:
 * stepping over it first would read the page's records twice).  NULL when
 * the scanner does not find the member there.
 */
static const char *member_start(struct span obj, const cJSON *parent, const cJSON *child)
{
    struct member_it it;
    struct span key, val;
    it_init(&it, obj, '{');
    for (const cJSON *c = parent->child; c; c = c->next) {
        if (c != child) {
            if (!member_next(&it, &key, &val))
                return NULL;
            continue;
        }
        const char *p = it.p, *end = it.end;
        if (it.bad || p >= end || *p != '"' || !child->string)
            return NULL;
        const char *kend = skip_string(p, end);
        if (!string_is((struct span){p, (size_t)(kend - p)}, child->string))
            return NULL;
        p = skip_ws(kend, end);
        return p < end && *p == ':' ? skip_ws(p + 1, end) : NULL;
    }
    return NULL;
}

/* True when the number token sp reads as d bit for bit, through strtod as
 * cJSON reads it (the daemon never calls setlocale: '.' is the point). */
static bool number_is(struct span sp, double d)
{
    char tmp[64];
    if (sp.n == 0 || sp.n >= sizeof(tmp) || (sp.p[0] != '-' && (sp.p[0] < '0' || sp.p[0] > '9')))
        return false;
    /* An integer of at most 15 digits (ids, counts) is exact as a double:
     * no strtod needed to read it as cJSON did. */
    bool neg = sp.p[0] == '-';
    size_t digits = sp.n - neg;
    if (digits >= 1 && digits <= 15) {
        uint64_t v = 0;
        size_t i = neg;
        for (; i < sp.n && sp.p[i] >= '0' && sp.p[i] <= '9'; i++)
            v = v * 10 + (uint64_t)(sp.p[i] - '0');
        if (i == sp.n) {
            double x = neg ? -(double)v : (double)v;
            return memcmp(&x, &d, sizeof(d)) == 0;
        }
    }
    memcpy(tmp, sp.p, sp.n);
    tmp[sp.n] = '\0';
    char *stop = NULL;
    double v = strtod(tmp, &stop);
    return stop == tmp + sp.n && memcmp(&v, &d, sizeof(d)) == 0;
}

/* The end of the string token at p (after its closing quote), or NULL
 * when it is not closed within end. */
static const char *string_end(const char *p, const char *end)
{
    return string_close(p + 1, end);
}

static bool number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static const char *match_value(const char *p, const char *end, const cJSON *el);

/* The array or object at p (its opening byte checked) against el's
 * children, in order; the end of its text or NULL. */
static const char *match_children(const char *p, const char *end, const cJSON *el, bool object)
{
    const cJSON *c = el->child;
    p = skip_ws(p + 1, end);
    if (!c)
        return p < end && *p == (object ? '}' : ']') ? p + 1 : NULL;
    for (;;) {
        if (object) {
            const char *kend = p < end && *p == '"' ? string_end(p, end) : NULL;
            if (!kend || !c->string || !string_is((struct span){p, (size_t)(kend - p)}, c->string))
                return NULL;
            p = skip_ws(kend, end);
            if (p >= end || *p != ':')
                return NULL;
            p++;
        }
        if (!(p = match_value(p, end, c)))
            return NULL;
        p = skip_ws(p, end);
        c = c->next;
        if (p < end && *p == ',' && c)
            p = skip_ws(p + 1, end);
        else if (p < end && *p == (object ? '}' : ']') && !c)
            return p + 1;
        else
            return NULL;
    }
}

/*
 * Walks the text at p (white space first) in lockstep with the value el
 * and returns the end of its text, or NULL when the text, as the scanner
 * reads it, is not el: the same type at every level, the same members in
 * the same order with the same names, the same elements, strings and
 * numbers.  This is what lets a record keep its text as VOMO sent it
 * while its id and updated_at come from cJSON's element: both are one and
 * the same value.  One pass over the text, nothing allocated; recursion is
 * bounded by cJSON's nesting limit.
 */
static const char *match_value(const char *p, const char *end, const cJSON *el)
{
    p = skip_ws(p, end);
    if (p >= end)
        return NULL;
    size_t left = (size_t)(end - p);
    const char *q;
    switch (el->type & 0xff) {
    case cJSON_False:
        return left >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case cJSON_True:
        return left >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case cJSON_NULL:
        return left >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    case cJSON_Number:
        for (q = p; q < end && number_char(*q); q++)
            ;
        return number_is((struct span){p, (size_t)(q - p)}, el->valuedouble) ? q : NULL;
    case cJSON_String:
        q = *p == '"' ? string_end(p, end) : NULL;
        return q && string_is((struct span){p, (size_t)(q - p)}, el->valuestring) ? q : NULL;
    case cJSON_Array:
        return *p == '[' ? match_children(p, end, el, false) : NULL;
    case cJSON_Object:
        return *p == '{' ? match_children(p, end, el, true) : NULL;
    default:
        return NULL;
    }
}

/* True when the text sp is, as a whole, the value el (match_value). */
static bool span_is(struct span sp, const cJSON *el)
{
    const char *end = sp.p + sp.n, *e = match_value(sp.p, end, el);
    return e && skip_ws(e, end) == end;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when two members of obj have the same (decoded) name: pairwise
 * for the small objects records are, sorted beyond DUP_PAIRWISE_MAX. */
#define DUP_PAIRWISE_MAX 32
static bool has_duplicate_keys(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    if (n < 2)
        return false;
    if (n <= DUP_PAIRWISE_MAX) {
        for (const cJSON *a = obj->child; a; a = a->next) {
            const char *ka = a->string ? a->string : "";
            for (const cJSON *b = a->next; b; b = b->next) {
                const char *kb = b->string ? b->string : "";
                if (ka[0] == kb[0] && strcmp(ka, kb) == 0) /* most differ at once */
                    return true;
            }
        }
        return false;
    }
    const char **keys = xcalloc(n, sizeof(*keys));
    size_t i = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        keys[i++] = c->string ? c->string : "";
    qsort(keys, n, sizeof(*keys), cmp_keys);
    bool dup = false;
    for (i = 1; i < n && !dup; i++)
        dup = strcmp(keys[i - 1], keys[i]) == 0;
    free(keys);
    return dup;
}

/* True when a byte below 0x20 other than JSON's white space stands outside
 * a string: cJSON takes it for white space, the scanner does not. */
static bool has_stray_control(const char *p, const char *end)
{
    while (p < end) {
        unsigned char c = (unsigned char)*p++;
        if (c == '"')
            p = skip_string(p - 1, end);
        else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return true;
    }
    return false;
}

/* ---- records ------------------------------------------------------------ */

/* Accepts exact decimal digits for a positive id within int64, leading
 * zeros dropped; writes the normalised id or returns an error message. */
static const char *id_from_digits(const char *s, size_t n, char out[128])
{
    if (n == 0)
        return "id is empty";
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return "id is not a positive integer";
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 19)
        return "id out of range";
    char tmp[20];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    int64_t v;
    if (parse_i64(tmp, &v) < 0)
        return "id out of range";
    if (v <= 0)
        return "id is not a positive integer";
    memcpy(out, tmp, n + 1);
    return NULL;
}

/* A JSON number id: its exact text when we have it (raw, already known to
 * be obj), else its double. */
static const char *id_from_number(const cJSON *obj, const cJSON *id, const struct span *raw,
                                  char out[128])
{
    if (raw) {
        struct span v;
        if (verified_member_span(*raw, obj, id, &v) == 0)
            return id_from_digits(v.p, v.n, out);
    }
    double d = id->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < 1)
        return "id is not a positive integer";
    if (d > 9007199254740992.0)
        return "id out of range";
    snprintf(out, 128, "%.0f", d);
    return NULL;
}

static const char *record_id(const cJSON *obj, const struct span *raw, char out[128])
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
    if (!id || cJSON_IsNull(id))
        return "missing id";
    if (cJSON_IsNumber(id))
        return id_from_number(obj, id, raw, out);
    if (cJSON_IsString(id))
        return id_from_digits(id->valuestring, strlen(id->valuestring), out);
    return "id is not a positive integer";
}

static const char *record_updated_at(const cJSON *obj, char out[TS_LEN])
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(obj, "updated_at");
    if (!u || cJSON_IsNull(u))
        return "missing updated_at";
    if (!cJSON_IsString(u))
        return "updated_at is not a string";
    if (ts_normalise(u->valuestring, out) < 0) {
        out[0] = '\0';
        return "updated_at is not a valid timestamp";
    }
    return NULL;
}

/*
 * Fills one record from its cJSON element and its raw text, which the
 * caller found to be that very element (match_value), or NULL when the
 * scanner could not find it or read it differently: the record is then bad
 * data (its payload cJSON's printing, for the dead letter).
 */
static void record_fill(struct vomo_record *r, const cJSON *el, const struct span *raw)
{
    memset(r, 0, sizeof(*r));
    bool raw_ok = raw != NULL;
    if (raw_ok) {
        r->payload = xstrndup(raw->p, raw->n);
    } else {
        /* Printed by cJSON, perhaps into the page's arena: copied out. */
        char *printed = cJSON_PrintUnformatted(el);
        r->payload = xstrdup(printed ? printed : "null");
        cJSON_free(printed);
    }
    if (!cJSON_IsObject(el)) {
        r->error = "record is not an object";
        return;
    }
    if (has_duplicate_keys(el)) {
        r->error = "record has a duplicate key";
        return;
    }
    if (!raw_ok) {
        if (record_id(el, NULL, r->id))
            r->id[0] = '\0';
        r->error = "record text does not match its parsed value";
        return;
    }
    const char *err = record_id(el, raw, r->id);
    if (err)
        r->id[0] = '\0';
    const char *uerr = record_updated_at(el, r->updated_at);
    r->error = err ? err : uerr;
}

void vomo_record_free(struct vomo_record *r)
{
    if (!r)
        return;
    free(r->payload);
    r->payload = NULL;
}

/* ---- bodies ------------------------------------------------------------- */

/* Parses a whole body into *root; the body's trimmed span goes to *whole. */
static int parse_body(const char *body, size_t len, cJSON **root, struct span *whole,
                      const char **errmsg)
{
    const char *why = NULL;
    const char *end = body ? body + len : NULL;
    *root = NULL;
    if (!body || len == 0 || skip_ws(body, end) == end)
        why = "empty body";
    else if (memchr(body, '\0', len))
        why = "body contains a NUL byte";
    else if (has_stray_control(body, end))
        why = "body has a control byte outside a string";
    if (!why) {
        const char *stop = NULL;
        *root = cJSON_ParseWithLengthOpts(body, len, &stop, 0);
        if (!*root || skip_ws(stop, end) != end)
            why = "body is not JSON";
        else if (!cJSON_IsObject(*root))
            why = "body is not a JSON object";
        else if (has_duplicate_keys(*root))
            why = "body has a duplicate key";
    }
    if (why) {
        cJSON_Delete(*root);
        *root = NULL;
        if (errmsg)
            *errmsg = why;
        return -EINVAL;
    }
    const char *p = skip_ws(body, end);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    *whole = (struct span){p, (size_t)(end - p)};
    return 0;
}

static int64_t json_int(const cJSON *v, int64_t dflt)
{
    double d;
    char *end = NULL;
    if (cJSON_IsNumber(v))
        d = v->valuedouble;
    else if (cJSON_IsString(v) && v->valuestring[0])
        d = strtod(v->valuestring, &end);
    else
        return dflt;
    if (end && *end != '\0')
        return dflt;
    if (!isfinite(d) || d < -9e15 || d > 9e15)
        return dflt;
    return (int64_t)d;
}

static int clamp_int(int64_t v)
{
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int)v;
}

/* links.next decides; without a links object, meta.last_page does. */
static bool page_has_next(const cJSON *root, const struct vomo_page *p)
{
    const cJSON *links = cJSON_GetObjectItemCaseSensitive(root, "links");
    if (!cJSON_IsObject(links))
        return p->last_page > 0 && p->current_page < p->last_page;
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(links, "next");
    if (!cJSON_IsString(next))
        return false;
    return next->valuestring[0] != '\0' && strcmp(next->valuestring, "null") != 0;
}

static void page_meta(const cJSON *root, struct vomo_page *p)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "meta");
    p->current_page =
        clamp_int(json_int(cJSON_GetObjectItemCaseSensitive(meta, "current_page"), 0));
    p->last_page = clamp_int(json_int(cJSON_GetObjectItemCaseSensitive(meta, "last_page"), 0));
    p->total = json_int(cJSON_GetObjectItemCaseSensitive(meta, "total"), -1);
    if (p->total < -1)
        p->total = -1;
    p->has_next = page_has_next(root, p);
}

/*
 * Fills the page's records.  The data array's text is walked once, element
 * by element in lockstep with cJSON's (match_value): an element whose text
 * is it keeps that text; one that is not is stepped over by the scanner and
 * is bad data; once the array's text no longer splits like cJSON's, the
 * rest are too.  Should the array's text not close right after its last
 * element, the scanner and cJSON disagree about the whole array: every
 * record is then bad data.
 */
static void page_records(const cJSON *root, const cJSON *data, struct span whole,
                         struct vomo_page *p)
{
    size_t n = (size_t)cJSON_GetArraySize(data);
    const char *end = whole.p + whole.n, *q = member_start(whole, root, data);
    q = q && q < end && *q == '[' ? q + 1 : NULL;
    p->records = xcalloc(n ? n : 1, sizeof(*p->records));
    p->count = n;
    size_t i = 0;
    for (const cJSON *el = data->child; el && i < n; el = el->next, i++) {
        const char *start = q ? skip_ws(q, end) : NULL, *e = q ? match_value(start, end, el) : NULL;
        struct span raw = {start, e ? (size_t)(e - start) : 0};
        record_fill(&p->records[i], el, e ? &raw : NULL);
        if (q && !e)
            e = skip_value(start, end); /* its text, read the scanner's way */
        q = e ? skip_ws(e, end) : NULL;
        if (q && q < end && *q == ',' && el->next)
            q++;
        else if (q && (q >= end || *q != ']' || el->next))
            q = NULL;
    }
    if (n && !q) {
        i = 0;
        for (const cJSON *el = data->child; el && i < n; el = el->next, i++) {
            vomo_record_free(&p->records[i]);
            record_fill(&p->records[i], el, NULL);
        }
    }
}

/* The page as parse_page() reads it, all of cJSON's nodes in one arena. */
static int parse_page(const char *body, size_t len, struct vomo_page *out, const char **errmsg)
{
    cJSON *root;
    struct span whole;
    if (parse_body(body, len, &root, &whole, errmsg) < 0)
        return -EINVAL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        if (errmsg)
            *errmsg = data ? "data is not an array" : "no data member";
        return -EINVAL;
    }
    const cJSON *links = cJSON_GetObjectItemCaseSensitive(root, "links");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "meta");
    if ((cJSON_IsObject(links) && has_duplicate_keys(links)) ||
        (cJSON_IsObject(meta) && has_duplicate_keys(meta))) {
        if (errmsg)
            *errmsg = "links or meta has a duplicate key";
        return -EINVAL;
    }
    page_records(root, data, whole, out);
    page_meta(root, out);
    if (errmsg)
        *errmsg = NULL;
    return 0;
}

/* cJSON's tree lives in an arena for the length of the parse (a page is a
 * few hundred nodes): nothing of it outlives this call, the records are
 * copied out. */
int vomo_parse_page(const char *body, size_t len, struct vomo_page *out, const char **errmsg)
{
    memset(out, 0, sizeof(*out));
    out->total = -1;
    struct jsonarena arena;
    jsonarena_begin(&arena);
    int rc = parse_page(body, len, out, errmsg);
    jsonarena_end(&arena);
    return rc;
}

void vomo_page_free(struct vomo_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        vomo_record_free(&p->records[i]);
    free(p->records);
    p->records = NULL;
    p->count = 0;
}

/*
 * A single record: {"data": {...}} or the bare object.  An object with a
 * "data" object and no "id" of its own is taken as the envelope.  Returns
 * 0 (the record may still carry `error`) or -EINVAL for a body that is not
 * a JSON object.
 */
int vomo_parse_record(const char *body, size_t len, struct vomo_record *out, const char **errmsg)
{
    cJSON *root;
    struct span whole, inner;
    memset(out, 0, sizeof(*out));
    if (parse_body(body, len, &root, &whole, errmsg) < 0)
        return -EINVAL;
    const cJSON *el = root;
    const struct span *raw = &whole;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (cJSON_IsObject(data) && !cJSON_GetObjectItemCaseSensitive(root, "id")) {
        el = data;
        raw = member_span(whole, root, data, &inner) == 0 ? &inner : NULL;
    }
    record_fill(out, el, raw && span_is(*raw, el) ? raw : NULL);
    cJSON_Delete(root);
    if (errmsg)
        *errmsg = out->error;
    return 0;
}

/* ---- URLs --------------------------------------------------------------- */

/* Appends s percent-encoded: everything but RFC 3986 unreserved bytes. */
static void url_encode(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (buf_append(b, plain ? (const char *)p : enc, plain ? 1 : 3) < 0)
            abort(); /* unreachable: the buffer has no cap */
    }
}

/* Appends "BASE/RESOURCE" without doubling the slash between them. */
static void url_base(struct buf *b, const char *base, const char *resource)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    while (*resource == '/')
        resource++;
    if (buf_append(b, base, n) < 0 || buf_printf(b, "/%s", resource) < 0)
        abort(); /* unreachable: the buffer has no cap */
}

char *vomo_list_url(const char *base_url, const char *resource, int page, const char *updated_after)
{
    struct buf b;
    buf_init(&b, 0);
    url_base(&b, base_url, resource);
    if (buf_printf(&b, "?page=%d", page) < 0)
        abort();
    if (updated_after && *updated_after) {
        if (buf_puts(&b, "&updated_after=") < 0)
            abort();
        url_encode(&b, updated_after);
    }
    return buf_steal(&b);
}

char *vomo_get_url(const char *base_url, const char *resource, const char *id)
{
    struct buf b;
    buf_init(&b, 0);
    url_base(&b, base_url, resource);
    if (buf_puts(&b, "/") < 0)
        abort();
    url_encode(&b, id);
    return buf_steal(&b);
}
