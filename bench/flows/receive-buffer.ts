/**
 * The receive buffer every collector asks for: what Sideband's collector requests, given
 * to the peers too (nfcapd -B, nfacctd_pipe_size). The kernel caps all three alike at
 * net.core.rmem_max.
 */
export const RECEIVE_BUFFER = 8 * 1024 * 1024;
