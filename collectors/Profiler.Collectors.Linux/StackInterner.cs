using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux;

/// <summary>Gives each distinct raw stack an id; reports stacks seen for the first time.
/// A stack is known by a 128-bit hash of its addresses (XxHash128), not by a copy of them: once
/// written to the recording its frames are not needed again, and a program of deep, varied stacks
/// made the copies the recorder's largest holding (cppcheck at --rate 1: 352 k distinct stacks of
/// 28 frames on average, ~100 MB as arrays; ~15 MB as hashes). Two different stacks share a hash
/// with a probability of about n² / 2^129: for any recording, none.</summary>
public sealed class StackInterner
{
    readonly Dictionary<UInt128, ulong> _ids = [];
    ulong _lastId;

    public int Count => _ids.Count;

    /// <summary>An id for a stack known by other means (a shared ring's name for it), never one
    /// <see cref="Intern"/> gives.</summary>
    public ulong NewId() => ++_lastId;

    public ulong Intern(ReadOnlySpan<ulong> addresses, out bool isNew)
    {
        var key = XxHash128.HashToUInt128(MemoryMarshal.AsBytes(addresses));
        ref ulong id = ref CollectionsMarshal.GetValueRefOrAddDefault(_ids, key, out bool exists);
        isNew = !exists;
        if (isNew) id = ++_lastId;
        return id;
    }
}
