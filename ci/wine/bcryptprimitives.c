/* A stand-in bcryptprimitives.dll, for running the Windows build under Debian 12's wine
 * (8.0) in CI, and nothing else: that wine has no bcryptprimitives.dll, and Rust's std
 * (1.78 and later) takes its random bytes from ProcessPrng there. Windows 10 and later
 * ship the real DLL, and wine 9+ has it; ci/cross-targets.sh builds this only when the
 * wine prefix lacks it. ProcessPrng is forwarded to RtlGenRandom (advapi32's
 * SystemFunction036), which every wine has. Nothing of this is shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
