namespace Profiler;

// memprof's own enums for what an event is and which allocator function made it. The recording's
// generated protobuf code has enums of the same names and values; those stay inside the recording
// reader and writer, which convert (the values are the wire's, so converting is a cast). These live
// in the root namespace so that code in any memprof namespace finds them before a generated one
// that a `using` of the protobuf namespace brings in: the name never means the wire's type by accident.

/// <summary>What an allocation event records.</summary>
public enum EventKind
{
    Unspecified = 0,
    Alloc = 1,
    Free = 2,
}

/// <summary>The allocator function an event came from; values are the recording's (and the collectors').</summary>
public enum AllocFunction
{
    Unspecified = 0,
    Malloc = 1,
    Calloc = 2,
    Realloc = 3,
    Reallocarray = 4,
    PosixMemalign = 5,
    AlignedAlloc = 6,
    Memalign = 7,
    Valloc = 8,
    Pvalloc = 9,
    FreeFunction = 10,
    // 11-15 are collector notifications, never allocation functions.
    Mallocx = 16,
    Rallocx = 17,
    Xallocx = 18,
    Sdallocx = 19,
    Dallocx = 20,
    /// <summary>Never in a recording: the model's free of a block still live when its process
    /// exec'd (the new image replaced the heap without a free call).</summary>
    ExecRelease = 32,
}
