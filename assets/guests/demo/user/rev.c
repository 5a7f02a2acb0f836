/* rev: reads a line from the console with read(0, ...) and prints it reversed. */
#include "ulib.h"

int main(const char *args)
{
	char line[128];
	u32 len = 0;
	(void)args;
	printf("type a line> ");
	while (len < sizeof(line) - 1) {
		char c;
		if (read(0, &c, 1) != 1)
			break;
		if (c == '\r' || c == '\n')
			break;
		if ((c == 0x7F || c == 8) && len) {
			len--;
			write(1, "\b \b", 3);
			continue;
		}
		if (c < ' ' || c > '~')
			continue;
		line[len++] = c;
		write(1, &c, 1); /* we are in raw mode: echo ourselves */
	}
	printf("\n");
	while (len)
		write(1, &line[--len], 1);
	printf("\n");
	return 0;
}
