/* logits.c (fuzz): the logits stream reader (stream.h) on the input as a
 * file: the header, then frames until the end or an error. */
#include "fuzz.h"
#include "stream.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;
	struct logits_hdr h;
	struct logits_frame fr = { 0 };
	struct cerr e;

	if (size == 0 || !(f = fmemopen((void *)data, size, "r")))
		return 0;
	if (logits_read_header(f, "fuzz", &h, &e) == 0) {
		while (logits_read_frame(f, "fuzz", &h, &fr, &e) == 1) {
			if (fr.n_new > 0)
				(void)*(volatile int32_t *)&fr.ids[fr.n_new - 1];
			if (h.n_vocab > 0)
				(void)*(volatile float *)
				    &fr.logits[h.n_vocab - 1];
		}
		logits_frame_free(&fr);
	}
	fclose(f);
	return 0;
}
