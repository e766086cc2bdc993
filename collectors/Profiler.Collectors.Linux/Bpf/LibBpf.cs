using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>The few libbpf 1.x entry points the collector needs (Debian ships libbpf.so.1).</summary>
static unsafe partial class LibBpf
{
    const string Lib = "libbpf.so.1";

    [StructLayout(LayoutKind.Sequential)]
    public struct UprobeOpts
    {
        public nuint Size;
        public nuint RefCtrOffset;
        public ulong BpfCookie;
        [MarshalAs(UnmanagedType.U1)] public bool Retprobe;
        public nint FuncName;
    }

    [LibraryImport(Lib, EntryPoint = "bpf_object__open_mem")]
    public static partial nint ObjectOpenMem(byte* buffer, nuint size, nint opts);

    [LibraryImport(Lib, EntryPoint = "bpf_program__set_expected_attach_type")]
    public static partial int SetExpectedAttachType(nint prog, int attachType);

    [LibraryImport(Lib, EntryPoint = "bpf_program__fd")]
    public static partial int ProgramFd(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FindProgram(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_map_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FindMap(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__set_max_entries")]
    public static partial int MapSetMaxEntries(nint map, uint maxEntries);

    [LibraryImport(Lib, EntryPoint = "bpf_program__attach_uprobe_opts", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint AttachUprobe(nint prog, int pid, string binaryPath, nuint fileOffset, UprobeOpts* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_program__attach", SetLastError = true)]
    public static partial nint Attach(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_map_update_elem")]
    public static partial int MapUpdate(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Lib, EntryPoint = "bpf_link__destroy")]
    public static partial int LinkDestroy(nint link);

    [LibraryImport(Lib, EntryPoint = "ring_buffer__new", SetLastError = true)]
    public static partial nint RingBufferNew(int mapFd, delegate* unmanaged<nint, void*, nuint, int> sampleCallback, nint context, nint opts);

    [LibraryImport(Lib, EntryPoint = "ring_buffer__poll")]
    public static partial int RingBufferPoll(nint rb, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "ring_buffer__consume")]
    public static partial int RingBufferConsume(nint rb);

    [LibraryImport(Lib, EntryPoint = "ring_buffer__free")]
    public static partial void RingBufferFree(nint rb);

    [LibraryImport(Lib, EntryPoint = "bpf_program__set_autoload")]
    public static partial int SetAutoload(nint prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(Lib, EntryPoint = "bpf_map_delete_elem")]
    public static partial int MapDelete(int fd, void* key);

    [LibraryImport(Lib, EntryPoint = "bpf_map_lookup_elem")]
    public static partial int MapLookup(int fd, void* key, void* value);

    [LibraryImport(Lib, EntryPoint = "libbpf_set_print")]
    public static partial nint SetPrint(delegate* unmanaged<int, nint, nint, int> printFn);

    [LibraryImport(Lib, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();
}
