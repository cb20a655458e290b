/* chat.c (fuzz): chat templates. The input's first line is the user's
 * message, the rest a template file; the message is wrapped in it with both
 * test tokenizers, and the whole input goes through chat_recognise() as a
 * model's own template. */
#include <string.h>

#include "chat.h"
#include "fuzz.h"

static struct fuzz_model models[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_model_open(&models[0], "SmolLM2-135M-Instruct.Q4_1.gguf");
	fuzz_model_open(&models[1], "gemma-3-270m-q4_k_m.gguf");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ulen = nl ? (size_t)(nl - data) : size;
	size_t rest = nl ? size - ulen - 1 : 0;
	struct gguf_str jinja = { size, (const char *)data };
	struct chat_msg m = { "Be brief.", NULL, ulen };
	char path[64], *user;
	int fd = fuzz_file(nl ? nl + 1 : data, rest, path, sizeof path);

	chat_recognise(&jinja);
	if (!(user = malloc(ulen + 1)))
		fuzz_die("out of memory", NULL);
	memcpy(user, data, ulen);
	user[ulen] = '\0';
	m.user = user;
	for (int k = 0; k < 2; k++) {
		struct ids ids = { 0 };
		struct cerr e;

		chat_encode(models[k].t, path, &m, k, &ids, &e);
		ids_free(&ids);
	}
	free(user);
	close(fd);
	return 0;
}
