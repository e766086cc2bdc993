using System.IO.MemoryMappedFiles;

namespace Profiler.Core.Recording;

/// <summary>Reads a .memprof file. A cut-off tail is tolerated with a warning; anything else
/// that is not a recording fails with one clear message and its own exit code.</summary>
/// <remarks>A well-formed recording is decoded by <see cref="FastRecordingReader"/> straight from
/// the file's bytes; anything it does not expect goes to <see cref="ProtobufRecordingReader"/>,
/// which reads the same bytes again and gives the same result or the same error it always did.</remarks>
public static class RecordingReader
{
    public static RawRecording Read(string path)
    {
        // A device or FIFO is refused before it is opened: /dev/zero never ends, a FIFO may never open.
        Files.FileProbe.RequireRegularFile(path, "a recording");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads everything but the events, which stay in the file: <see cref="RawRecording.Batches"/>
    /// decodes them batch by batch on each walk. A recording the fast reader does not vouch for
    /// is read whole, as <see cref="Read(string)"/> reads it (its batches then walk from memory).</summary>
    public static RawRecording ReadStreaming(string path)
    {
        Files.FileProbe.RequireRegularFile(path, "a recording");
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1))
        {
            if (file.Length > RecordingFormat.Magic.Length && ReadMapped(file, 0, path, stream: true) is { } streamed)
                return streamed;
        }
        return Read(path);
    }

    /// <summary>Reads from the stream's position to its end.</summary>
    public static RawRecording Read(Stream stream, string name)
    {
        long origin = stream.CanSeek ? stream.Position : 0;
        RawRecording? fast;
        if (stream is FileStream file && file.CanSeek && file.Length - origin > RecordingFormat.Magic.Length)
            fast = ReadMapped(file, origin, name);
        else if (stream is MemoryStream memory && memory.TryGetBuffer(out var buffer))
            fast = ReadBytes(buffer.Array!, buffer.Offset + (int)origin, (int)(memory.Length - origin), origin, name);
        else
        {
            // Nothing but a recording is read to its end: anything else is refused after its first bytes.
            var head = new byte[RecordingFormat.Magic.Length];
            int got = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            if (got < head.Length || !head.AsSpan().SequenceEqual(RecordingFormat.Magic))
                throw new ProfilerException(ExitCode.WrongFileType, $"{name} is not a memprof recording (wrong file type)");
            var copy = new MemoryStream();
            copy.Write(head);
            stream.CopyTo(copy);
            fast = ReadBytes(copy.GetBuffer(), 0, (int)copy.Length, origin, name);
            if (fast is null && !stream.CanSeek) return ProtobufRecordingReader.Read(new MemoryStream(copy.GetBuffer(), 0, (int)copy.Length), name);
        }
        if (fast is not null) return fast;
        // Not something the fast path vouches for: the reference reader gives its verdict, from the same place.
        stream.Position = origin;
        return ProtobufRecordingReader.Read(stream, name);
    }

    static unsafe RawRecording? ReadBytes(byte[] bytes, int offset, int length, long origin, string name)
    {
        fixed (byte* data = bytes)
            return FastRecordingReader.TryRead(data + offset, length, origin, name);
    }

    /// <summary>Maps the file instead of copying it: the pages come straight from the OS's cache.
    /// A recorder still appending is fine; what was written when the file was opened is read.</summary>
    static unsafe RawRecording? ReadMapped(FileStream file, long origin, string name, bool stream = false)
    {
        long length = file.Length - origin;
        using var map = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        using var view = map.CreateViewAccessor(origin, length, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try { return FastRecordingReader.TryRead(pointer + view.PointerOffset, length, origin, name, stream); }
        finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
    }
}
