using System.IO.MemoryMappedFiles;

namespace Profiler.Symbols.Elf;

/// <summary>A read-only mapping of a whole file. Mapping rather than reading lets a 500 MB debug
/// file cost only the pages that are actually touched, and lets sections be handed out as spans
/// without copying. Every access is bounds-checked against the file's length.</summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _start;

    private MappedFile(string path, ulong length, MemoryMappedFile mapping, MemoryMappedViewAccessor view)
    {
        Path = path;
        Length = length;
        _mapping = mapping;
        _view = view;
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        _start = start + view.PointerOffset;
    }

    public string Path { get; }

    public ulong Length { get; }

    public static MappedFile Open(string path)
    {
        if (Directory.Exists(path))
            throw new ElfFormatException($"{path} is a directory, not an ELF file");
        // Delete/ReadWrite sharing: a library being replaced by a package upgrade must stay readable.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
            bufferSize: 1);
        MemoryMappedFile? mapping = null;
        try
        {
            long length = stream.Length;
            if (length == 0)
                throw new ElfFormatException($"{path} is empty, not an ELF file");
            mapping = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0,
                MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            var view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            return new MappedFile(path, (ulong)length, mapping, view);
        }
        catch
        {
            if (mapping is null)
                stream.Dispose();
            else
                mapping.Dispose();
            throw;
        }
    }

    public bool Contains(ulong offset, ulong size) => offset <= Length && size <= Length - offset;

    /// <summary>The bytes [offset, offset + size); <paramref name="what"/> names them in the
    /// error raised when they are not all inside the file.</summary>
    public ReadOnlySpan<byte> Read(ulong offset, ulong size, string what)
    {
        CheckRange(offset, size, what);
        return new ReadOnlySpan<byte>(Start + offset, (int)size);
    }

    public UnmanagedMemoryStream OpenStream(ulong offset, ulong size, string what)
    {
        CheckRange(offset, size, what);
        return new UnmanagedMemoryStream(Start + offset, (long)size);
    }

    public void Dispose()
    {
        if (_start == null)
            return;
        _start = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }

    private byte* Start => _start != null ? _start : throw new ObjectDisposedException(Path);

    private void CheckRange(ulong offset, ulong size, string what)
    {
        if (!Contains(offset, size))
            throw new ElfFormatException(
                $"{Path} is truncated or corrupt: {what} (0x{size:x} bytes at offset 0x{offset:x}) " +
                $"extends past the end of the file (0x{Length:x} bytes)");
        if (size > int.MaxValue)
            throw new ElfFormatException($"{Path}: {what} is larger than 2 GB, which is not supported");
    }
}
