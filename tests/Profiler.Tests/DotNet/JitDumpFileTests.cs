using System.Buffers.Binary;
using System.Text;
using Profiler.Collectors.Linux.DotNet;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.DotNet;

/// <summary>A jitdump as Linux perf's format (tools/perf/Documentation/jitdump-specification.txt)
/// and .NET 10's runtime write it: a 40-byte header, then records; code loads carry the code's
/// bytes after the name. Only precompiled code is taken (the perf map has the rest).</summary>
public sealed class JitDumpFileTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-jitdump");

    public void Dispose() => _dir.Delete(recursive: true);

    static byte[] Header(uint magic = 0x4A695444)
    {
        var header = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(header, magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 40);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 62); // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), 4242);
        return header;
    }

    static byte[] CodeLoad(ulong address, ulong size, string name, int codeBytes)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var record = new byte[16 + 40 + nameBytes.Length + codeBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(record, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)record.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(8), 123456789);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(16), 4242);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(20), 4243);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(24), address);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(32), address);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(40), size);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(48), 7);
        nameBytes.CopyTo(record.AsSpan(56));
        record.AsSpan(56 + nameBytes.Length).Fill(0xcc);
        return record;
    }

    /// <summary>Another kind of record (JIT_CODE_CLOSE: just the prefix).</summary>
    static byte[] Close()
    {
        var record = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(record, 3);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), 16);
        return record;
    }

    const string Precompiled = "class [System.Runtime]System.IO.TextWriter [System.Console] System.Console::get_Out()[PreJIT]";
    const string Cold = "void [System.Private.CoreLib] System.Threading.Monitor::Enter(object)[PreJit-cold]";
    const string Jitted = "int32 [DotnetSample] Program::<Main>$(string[])[QuickJitted]";
    const string Stub = "stub Allocate<FixupPrecode>";

    [Fact]
    public void Precompiled_methods_are_read_as_records_complete_and_the_rest_is_left_to_the_perf_map()
    {
        string path = Path.Combine(_dir.FullName, "jit-4242.dump");
        var second = CodeLoad(0x7f0000002000, 0x80, Cold, 0x80);
        byte[] first = [.. Header(), .. CodeLoad(0x7f0000001000, 0xa7, Precompiled, 0xa7), .. CodeLoad(0x7f0000009000, 0x3fc, Jitted, 0x3fc),
            .. CodeLoad(0x7f0000008000, 0x18, Stub, 0x18), .. Close(), .. second.AsSpan(0, 30)];
        File.WriteAllBytes(path, first);
        var dump = new JitDumpFile(path);
        var read = dump.ReadNew();
        Assert.Equal([(0x7f0000001000UL, 0xa7UL, Precompiled)], read.Select(s => (s.Start, s.Size, s.Name)));
        // The record being written is read once whole.
        using (var stream = new FileStream(path, FileMode.Append)) stream.Write(second.AsSpan(30));
        Assert.Equal([(0x7f0000002000UL, 0x80UL, Cold)], dump.ReadNew().Select(s => (s.Start, s.Size, s.Name)));
        Assert.Empty(dump.ReadNew());
    }

    [Fact]
    public void A_file_that_is_no_jitdump_or_a_record_too_small_to_be_one_stops_the_reading()
    {
        var symbols = new List<JitSymbol>();
        Assert.Equal(0, JitDumpFile.Parse([.. Header(0x4454694A), .. CodeLoad(1, 1, Precompiled, 1)], atStart: true, symbols, out bool swapped));
        Assert.True(swapped);
        var bad = Close();
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(4), 8);
        byte[] bytes = [.. Header(), .. CodeLoad(0x1000, 0x10, Precompiled, 0x10), .. bad, .. CodeLoad(0x2000, 0x10, Precompiled, 0x10)];
        int used = JitDumpFile.Parse(bytes, atStart: true, symbols, out bool unreadable);
        Assert.True(unreadable);
        Assert.Equal(40 + CodeLoad(0x1000, 0x10, Precompiled, 0x10).Length, used);
        Assert.Equal([0x1000UL], symbols.Select(s => s.Start));
        // A header still being written waits.
        Assert.Equal(0, JitDumpFile.Parse(Header().AsSpan(0, 20), atStart: true, symbols, out bool partial));
        Assert.False(partial);
    }

    [Fact]
    public void A_launched_runtimes_precompiled_code_is_copied_from_its_jitdump_and_the_file_removed_once_it_is_gone()
    {
        string MapPath(string path) => Path.Combine(_dir.FullName, Path.GetFileName(path));
        bool gone = false;
        var dotnet = new DotNetProcesses(new FakeControl(), launched: true, removeMapsOf: _ => gone,
            openMap: path => new PerfMapFile(MapPath(path)), openDump: pid => new JitDumpFile(MapPath(JitDumpFile.For(pid))));
        dotnet.Mapped(new Module { Pid = 4242, Path = "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/libcoreclr.so" });
        File.WriteAllText(MapPath(PerfMapFile.For(4242)), $"7f0000009000 3fc {Jitted}\n");
        File.WriteAllBytes(MapPath(JitDumpFile.For(4242)), [.. Header(), .. CodeLoad(0x7f0000001000, 0xa7, Precompiled, 0xa7),
            .. CodeLoad(0x7f0000009000, 0x3fc, Jitted, 0x3fc)]);
        var written = new List<JitSymbols>();
        dotnet.Poll(written.Add, 100);
        gone = true;
        dotnet.Finish(written.Add, 200);
        Assert.Equal([("perf-map", Jitted), ("jitdump", Precompiled)], written.SelectMany(r => r.Symbols.Select(s => (r.Source, s.Name))));
        Assert.False(File.Exists(MapPath(JitDumpFile.For(4242))));
        Assert.False(File.Exists(MapPath(PerfMapFile.For(4242))));
        Assert.Empty(dotnet.Notes);
    }

    sealed class FakeControl : IPerfMapControl
    {
        public string? Enable(int pid) => throw new InvalidOperationException("a launched runtime is never asked");
        public void Disable(int pid) => throw new InvalidOperationException("a launched runtime is never asked");
    }
}
