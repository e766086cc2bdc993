namespace Profiler.Collectors.Linux.Procfs;

/// <summary>Reading a process's memory where an ELF file's symbols lie.</summary>
public static class ProcessMemory
{
    /// <summary>Where the file's virtual address 0 lies in the process: its first mapping (file
    /// offset 0) minus the first load segment's page-aligned address; null when not mapped.</summary>
    public static ulong? LoadBias(int pid, string path)
    {
        IReadOnlyList<MapEntry> maps;
        try { maps = ProcMaps.Read(pid); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return LoadBias(maps, path);
    }

    /// <summary>The same, from maps already read.</summary>
    public static ulong? LoadBias(IReadOnlyList<MapEntry> maps, string path)
    {
        var first = maps.FirstOrDefault(m => m.Path == path && m.FileOffset == 0);
        if (first is null) return null;
        if (!Symbols.Elf.ElfFile.TryOpen(path, out var elf, out _)) return null;
        using (elf)
        {
            if (elf.LoadSegments.Count == 0) return null;
            ulong firstVa = elf.LoadSegments.Min(s => s.VirtualAddress) & ~0xfffUL;
            return first.Start - firstVa;
        }
    }

    /// <summary>Fills the buffer from the process's memory; false when the process is gone or the range unmapped.</summary>
    public static bool TryRead(int pid, ulong address, Span<byte> buffer)
    {
        try
        {
            using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            mem.Position = (long)address;
            mem.ReadExactly(buffer);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EndOfStreamException) { return false; }
    }
}
