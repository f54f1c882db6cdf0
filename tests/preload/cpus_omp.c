/* SPDX-License-Identifier: MIT */
/*
 * cpus_omp.c - libgomp's default team, for tests/preload/cpus.sh: prints
 * "max N" (omp_get_max_threads, the team a parallel region gets by
 * default, which libgomp sizes from pthread_getaffinity_np at start-up)
 * and "team N" (the threads of a default region, counted inside it).
 */
#include <omp.h>
#include <stdio.h>

int main(void)
{
	int team = 0;
	printf("max %d\n", omp_get_max_threads());
#pragma omp parallel
	{
#pragma omp atomic
		team++;
	}
	printf("team %d\n", team);
	return 0;
}
