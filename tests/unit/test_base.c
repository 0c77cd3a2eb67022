/* test_base: pointer-length strings, buffers, socket addresses, refcounting and lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static void test_pl_numbers(void **state)
{
	static const struct {
		const char *text;
		int err;
		uint32_t value;
	} cases[] = {
		{"0", 0, 0},		 {"0068", 0, 68},	 {"4294967295", 0, UINT32_MAX},
		{"4294967296", ERANGE, 0}, {"36893488147419103232", ERANGE, 0},
		{"", EINVAL, 0},	 {"-1", EINVAL, 0},	 {"12a", EINVAL, 0},
		{" 1", EINVAL, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pl pl = pl_from_str(cases[i].text);
		uint32_t v = 12345;
		assert_int_equal(pl_u32(&pl, &v), cases[i].err);
		if (!cases[i].err)
			assert_int_equal(v, cases[i].value);
	}
}

static void test_pl_compare_trim(void **state)
{
	struct pl a = PL("Via"), b = PL("vIA"), t = PL(" \t x y \r\n");
	char buf[4];

	(void)state;
	assert_int_equal(pl_casecmp(&a, &b), 0);
	assert_int_not_equal(pl_cmp(&a, &b), 0);
	assert_true(pl_caseeq_str(&a, "VIA"));
	assert_false(pl_eq_str(&a, "Vi"));
	pl_trim(&t);
	assert_true(pl_eq_str(&t, "x y"));
	assert_int_equal(pl_strcpy(&t, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x y");
	assert_int_equal(pl_strcpy(&a, buf, 3), ENOSPC);
}

/* str_copy writes what snprintf(dst, size, "%s", src) writes. */
static void test_str_copy(void **state)
{
	static const char *const srcs[] = {"", "a", "abc", "abcdefgh", "abcdefghijklmnop", NULL};
	char a[9], b[9];

	(void)state;
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		for (size_t size = 1; size <= sizeof(a); size++) {
			memset(a, 'x', sizeof(a));
			memset(b, 'x', sizeof(b));
			str_copy(a, size, srcs[i]);
			snprintf(b, size, "%s", srcs[i] ? srcs[i] : "(null)");
			assert_memory_equal(a, b, sizeof(a));
		}
	}
	a[0] = 'x';
	str_copy(a, 0, "abc"); /* nothing written */
	assert_int_equal(a[0], 'x');
}

/* str_cat writes what snprintf(dst, size, "%s%s%s", ...) writes and returns its length;
 * str_dupcat the whole join; str_u64 and str_x64 what %llu and %0*llx write. */
static void test_str_cat(void **state)
{
	static const char *const parts[][3] = {
	    {"", "", ""}, {"a", "", "bc"}, {"abc", "def", "ghi"}, {"<sip:", "1001", "@host>"},
	};
	static const uint64_t nums[] = {0,	    1,		 9,	       10,	   11,
					99,	    100,	 101,	       255,	   999,
					1000,	    4096,	 10009,	       65535,	   123456789,
					0xffffffffu, 9999999999u, 10000000000000000000u, UINT64_MAX};
	char a[9], b[9], n[STR_U64_LEN], m[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		char *d = str_dupcat(parts[i][0], parts[i][1], parts[i][2], NULL);

		for (size_t size = 1; size <= sizeof(a); size++) {
			size_t len;

			memset(a, 'x', sizeof(a));
			memset(b, 'x', sizeof(b));
			len = str_cat(a, size, parts[i][0], parts[i][1], parts[i][2], NULL);
			assert_int_equal(len, snprintf(b, size, "%s%s%s", parts[i][0], parts[i][1],
						       parts[i][2]));
			assert_memory_equal(a, b, sizeof(a));
		}
		assert_non_null(d);
		snprintf(m, sizeof(m), "%s%s%s", parts[i][0], parts[i][1], parts[i][2]);
		assert_string_equal(d, m);
		free(d);
	}
	a[0] = 'x';
	assert_int_equal(str_cat(a, 0, "abc", NULL), 3); /* nothing written */
	assert_int_equal(a[0], 'x');
	for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
		snprintf(m, sizeof(m), "%llu", (unsigned long long)nums[i]);
		assert_string_equal(str_u64(n, nums[i]), m);
		{
			struct mbuf mb;

			mbuf_init(&mb);
			assert_int_equal(mbuf_write_u64(&mb, nums[i]), 0);
			assert_int_equal(mb.end, strlen(m));
			assert_memory_equal(mb.buf, m, mb.end);
			mbuf_reset(&mb);
		}
		snprintf(m, sizeof(m), "%08llx", (unsigned long long)nums[i]);
		assert_string_equal(str_x64(n, nums[i], 8), m);
		snprintf(m, sizeof(m), "%llx", (unsigned long long)nums[i]);
		assert_string_equal(str_x64(n, nums[i], 0), m);
	}
}

static int cache_destroyed;

static void cache_dh(void *data)
{
	(void)data;
	cache_destroyed++;
}

/* With the cache on, a freed block of 1-4 KiB is handed out again for the same size class
 * (zeroed by mem_zalloc), with a fresh count and destructor; other sizes are not kept; a full
 * class frees; turning it off frees what is kept. */
static void test_mem_cache(void **state)
{
	uint8_t *a, *b, *c, *blocks[12];

	(void)state;
	mem_cache_enable(true);
	a = mem_alloc(1500, cache_dh);
	assert_non_null(a);
	memset(a, 0xab, 1500);
	mem_deref(a);
	assert_int_equal(cache_destroyed, 1);
	b = mem_zalloc(1400, NULL); /* the same class: the same block, zeroed */
	assert_ptr_equal(b, a);
	for (size_t i = 0; i < 1400; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(mem_nrefs(b), 1);
	mem_ref(b);
	mem_deref(b);
	assert_int_equal(mem_nrefs(b), 1);
	c = mem_alloc(3000, NULL); /* another class: a new block */
	assert_ptr_not_equal(c, b);
	mem_deref(b);
	mem_deref(c);
	a = mem_alloc(100, NULL); /* small: not the cache's */
	mem_deref(a);
	a = mem_alloc(20000, NULL); /* large: not the cache's */
	mem_deref(a);
	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++) /* more than a class keeps */
		blocks[i] = mem_alloc(2000, cache_dh);
	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++)
		mem_deref(blocks[i]);
	assert_int_equal(cache_destroyed, 1 + ARRAY_SIZE(blocks));
	mem_cache_enable(false);
	a = mem_alloc(1500, NULL); /* off: plain malloc */
	mem_deref(a);
}

/* sa_ntop formats IPv4 itself: the same text as inet_ntop, "?" when it does not fit. */
static void test_sa_ntop4(void **state)
{
	static const char *const addrs[] = {"0.0.0.0",	     "255.255.255.255", "10.0.0.1",
					    "192.168.100.9", "1.20.100.200",	"127.0.0.10"};
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct sa sa;
		struct in_addr in;

		assert_int_equal(sa_set_str(&sa, addrs[i], 5060), 0);
		assert_int_equal(inet_pton(AF_INET, addrs[i], &in), 1);
		assert_non_null(inet_ntop(AF_INET, &in, b, sizeof(b)));
		assert_string_equal(sa_ntop(&sa, a, sizeof(a)), b);
		assert_string_equal(sa_ntop(&sa, a, strlen(b) + 1), b);
		assert_string_equal(sa_ntop(&sa, a, strlen(b)), "?");
	}
}

static void test_mbuf_grows(void **state)
{
	struct mbuf mb;
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mbuf_init(&mb);
	for (int i = 0; i < 100; i++)
		assert_int_equal(mbuf_printf(&mb, "%d,", i), 0);
	assert_int_equal(mbuf_printf(&mb, "%s", big), 0);
	assert_int_equal(mb.end, 290 + sizeof(big) - 1);
	assert_memory_equal(mb.buf, "0,1,2,", 6);
	assert_int_equal(mb.buf[mb.end - 1], 'x');
	mbuf_reset(&mb);
	assert_null(mb.buf);
}

static void test_sa(void **state)
{
	struct sa a, b;
	char buf[SA_STRLEN];

	(void)state;
	assert_int_equal(sa_decode(&a, "127.0.0.1:5070", 5060), 0);
	assert_int_equal(sa_port(&a), 5070);
	assert_int_equal(sa_decode(&b, "[::1]:5080", 5060), 0);
	assert_string_equal(sa_fmt(&b, buf, sizeof(buf)), "[::1]:5080");
	assert_int_equal(sa_decode(&b, "::1", 5060), 0);
	assert_int_equal(sa_port(&b), 5060);
	assert_int_equal(sa_decode(&b, "127.0.0.1", 5060), 0);
	assert_true(sa_eq_addr(&a, &b));
	assert_false(sa_eq(&a, &b));
	assert_int_equal(sa_decode(&b, "example.com", 5060), EINVAL);
	assert_int_equal(sa_decode(&b, "1.2.3.4:99999", 5060), EINVAL);
	assert_int_equal(sa_decode(&b, "[::1", 5060), EINVAL);
	assert_int_equal(sa_decode(&b, "0.0.0.0", 1), 0);
	assert_true(sa_is_any(&b));
}

static int destroyed;
static void dtor(void *p)
{
	(void)p;
	destroyed++;
}

static void test_mem_refcount(void **state)
{
	void *p = mem_zalloc(100, dtor);

	(void)state;
	destroyed = 0;
	assert_non_null(p);
	assert_int_equal(mem_nrefs(p), 1);
	mem_ref(p);
	assert_null(mem_deref(p));
	assert_int_equal(destroyed, 0);
	assert_null(mem_deref(p));
	assert_int_equal(destroyed, 1);
	assert_null(mem_deref(NULL));
}

static void test_list(void **state)
{
	struct list l = LIST_INIT;
	struct le e[3];
	int vals[3] = {1, 2, 3};
	int sum = 0;

	(void)state;
	memset(e, 0, sizeof(e));
	list_append(&l, &e[1], &vals[1]);
	list_append(&l, &e[2], &vals[2]);
	list_prepend(&l, &e[0], &vals[0]);
	assert_int_equal(list_count(&l), 3);
	assert_ptr_equal(l.head->data, &vals[0]);
	list_unlink(&e[1]);
	list_unlink(&e[1]); /* unlinked twice: no effect */
	LIST_FOREACH(&l, le) sum += *(int *)le->data;
	assert_int_equal(sum, 4);
	assert_int_equal(list_count(&l), 2);
	assert_ptr_equal(l.tail, &e[2]);
}

static void test_rand_token(void **state)
{
	char a[17], b[17];

	(void)state;
	rand_token(a, 16);
	rand_token(b, 16);
	assert_int_equal(strlen(a), 16);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdefghijklmnopqrstuvwxyz", a[i]));
}

/* The word-at-a-time hashes and pl_casecmp against byte-by-byte references: random strings of
 * every length up to 40 over all byte values and the letters' neighbours ('@', '[', '`', '{'),
 * compared with themselves in mixed case and with a copy one byte changed. hash_pl_case(s) is
 * hash_bytes of s with A-Z lowered, and the low bits (tables index by them) spread keys that
 * differ in one character as branches do. */
static uint32_t xs_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static int ref_casecmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ca = tolower((unsigned char)a[i]), cb = tolower((unsigned char)b[i]);
		if (ca != cb)
			return ca - cb;
	}
	return 0;
}

static void test_hash_casecmp(void **state)
{
	static const char edge[] = "@AZ[`az{09-._~%";
	uint32_t x = 2463534242u;
	char a[41], b[41], lo[41];
	static unsigned buckets[1024];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n = xs_next(&x) % 41;
		struct pl pa = {a, n}, pb = {b, n};
		int r, want;

		for (size_t i = 0; i < n; i++) {
			uint32_t v = xs_next(&x);
			a[i] = v & 1 ? edge[(v >> 1) % (sizeof(edge) - 1)] : (char)((v >> 8) & 0xff);
			lo[i] = (char)tolower((unsigned char)a[i]);
			b[i] = xs_next(&x) & 1 ? (char)toupper((unsigned char)a[i]) : lo[i];
		}
		assert_int_equal(pl_casecmp(&pa, &pb), 0);
		assert_int_equal(hash_pl_case(&pa), hash_pl_case(&pb));
		assert_int_equal(hash_pl_case(&pa), hash_bytes(lo, n));
		if (!n)
			continue;
		/* One byte changed: the same sign as the reference, and (nearly always) another hash. */
		b[xs_next(&x) % n] = (char)(xs_next(&x) & 0xff);
		r = pl_casecmp(&pa, &pb);
		want = ref_casecmp(a, b, n);
		assert_true((r < 0) == (want < 0) && (r > 0) == (want > 0));
	}
	for (unsigned i = 0; i < 8192; i++) {
		char key[40];
		struct pl k;

		snprintf(key, sizeof(key), "z9hG4bK%08uabcdef", i * 7919u);
		k = pl_from_str(key);
		buckets[hash_pl_case(&k) & 1023]++;
	}
	for (unsigned i = 0; i < 1024; i++)
		assert_true(buckets[i] <= 24); /* 8 expected per bucket */
}

/* A histogram: each value in its bucket (a bound is inclusive), written cumulative, +Inf last. */
static void test_histo(void **state)
{
	static const double bounds[] = {0.1, 1, 10};
	static const struct {
		double v;
		size_t bucket;
	} cases[] = {{0, 0}, {0.1, 0}, {0.11, 1}, {1, 1}, {9.9, 2}, {10.5, 3}, {1e9, 3}};
	struct histo h = {0};
	struct mbuf mb;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = h.bucket[cases[i].bucket];

		histo_observe(&h, bounds, 3, cases[i].v);
		assert_int_equal(h.bucket[cases[i].bucket], before + 1);
	}
	assert_int_equal(h.count, 7);
	mbuf_init(&mb);
	assert_int_equal(histo_write(&mb, "x_seconds", "X.", &h, bounds, 3), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_string_equal((const char *)mb.buf,
			    "# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
			    "x_seconds_bucket{le=\"0.1\"} 2\nx_seconds_bucket{le=\"1\"} 4\n"
			    "x_seconds_bucket{le=\"10\"} 5\nx_seconds_bucket{le=\"+Inf\"} 7\n"
			    "x_seconds_sum 1000000021.610000\nx_seconds_count 7\n");
	mbuf_reset(&mb);
	/* no histogram yet (NULL): zeros */
	mbuf_init(&mb);
	assert_int_equal(histo_write(&mb, "y", "Y.", NULL, bounds, 1), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_non_null(strstr((const char *)mb.buf, "y_bucket{le=\"+Inf\"} 0\ny_sum 0.000000\ny_count 0\n"));
	mbuf_reset(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pl_numbers),	 cmocka_unit_test(test_pl_compare_trim),
	    cmocka_unit_test(test_mbuf_grows),	 cmocka_unit_test(test_str_copy),
	    cmocka_unit_test(test_str_cat),
	    cmocka_unit_test(test_mem_cache),
	    cmocka_unit_test(test_sa_ntop4),	 cmocka_unit_test(test_sa),
	    cmocka_unit_test(test_mem_refcount), cmocka_unit_test(test_list),
	    cmocka_unit_test(test_rand_token),	 cmocka_unit_test(test_histo),
	    cmocka_unit_test(test_hash_casecmp),
	};
	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
