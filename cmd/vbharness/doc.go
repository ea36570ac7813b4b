// Command vbharness is the test harness for the Veeam Backup for Microsoft 365 REST
// API's modern authentication. Everything happens in package cli; main only wires the
// process to it.
package main
