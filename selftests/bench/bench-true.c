// SPDX-License-Identifier: GPL-2.0
/* bench-true - the smallest static program, exec'd by "ubench fork_exec". */
int main(void)
{
	return 0;
}
