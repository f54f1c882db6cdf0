// SPDX-License-Identifier: MIT
// Cpus.java - the JVM's view of its CPUs, for tests/preload/cpus.sh.
public class Cpus {
	public static void main(String[] args) {
		System.out.println("java " + Runtime.getRuntime().availableProcessors());
	}
}
