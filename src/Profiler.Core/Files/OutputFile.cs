using System.Collections.Concurrent;

namespace Profiler.Core.Files;

/// <summary>
/// Every file memprof writes goes through here: it is written beside its destination under a
/// temporary name and renamed into place only once complete, so a full disk, a read-only
/// filesystem or a kill never leaves a half-written file under the output's name (nor destroys
/// the file that was there). An output that names one of the command's inputs is refused.
/// Devices and FIFOs (/dev/stdout, /dev/null) are written directly: they cannot be renamed over.
/// </summary>
public static class OutputFile
{
    static readonly ConcurrentDictionary<string, byte> Unfinished = new();

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; a failure is one
    /// <see cref="ProfilerException"/> (<see cref="ExitCode.OutputFailed"/>) and leaves nothing behind.</summary>
    public static void Write(string path, Action<Stream> write, IEnumerable<string>? inputs = null)
    {
        string target = Prepare(path, inputs);
        if (FileProbe.Stat(target).Type == FileType.Other)
        {
            try
            {
                using var device = new FileStream(target, FileMode.Open, FileAccess.Write);
                write(device);
            }
            catch (Exception e) when (IsWriteFailure(e)) { throw Failed(path, e); }
            return;
        }
        string temp = TemporaryPath(target);
        Unfinished[temp] = 0;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                // A writer may close the stream itself (having flushed it to the system).
                if (stream.CanWrite) stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (IsWriteFailure(e)) throw Failed(path, e);
            throw;
        }
        finally
        {
            Unfinished.TryRemove(temp, out _);
        }
    }

    /// <summary>Where a recording is written while it grows (readable as it is: the recorder
    /// flushes it twice a second), renamed to its name by <see cref="Commit"/> once complete.</summary>
    public static string StagingPath(string path, IEnumerable<string>? inputs = null)
    {
        string target = Prepare(path, inputs);
        return FileProbe.Stat(target).Type == FileType.Other ? target : target + ".partial";
    }

    public static void Commit(string staging, string path)
    {
        string target = ResolveLinks(path);
        if (staging == target) return;
        try { File.Move(staging, target, overwrite: true); }
        catch (Exception e) when (IsWriteFailure(e)) { throw Failed(path, e); }
    }

    /// <summary>Checks an output's destination before any work is done: not a directory, not
    /// one of the inputs, in a folder that exists. Returns the file to replace (symlinks followed).</summary>
    public static string Prepare(string path, IEnumerable<string>? inputs = null)
    {
        if (path.Length == 0) throw new ProfilerException(ExitCode.UsageError, "the output file name is empty");
        var status = FileProbe.Stat(path);
        if (status.Type == FileType.Directory || path.EndsWith('/'))
            throw new ProfilerException(ExitCode.UsageError, $"{path} is a directory; name a file to write (e.g. {Path.Combine(path, "out")})");
        foreach (var input in inputs ?? [])
        {
            var inputStatus = FileProbe.Stat(input);
            if (status.SameFileAs(inputStatus) || Path.GetFullPath(input) == Path.GetFullPath(path))
                throw new ProfilerException(ExitCode.UsageError, $"{path} is also an input; writing it would destroy {input}: choose another output");
        }
        string target = ResolveLinks(path);
        string folder = Path.GetDirectoryName(Path.GetFullPath(target))!;
        if (FileProbe.Stat(folder).Type != FileType.Directory)
            throw new ProfilerException(ExitCode.FileNotFound, $"cannot write {path}: the folder {folder} does not exist");
        return target;
    }

    /// <summary>Removes the temporary files of writes still in progress: called when a signal ends memprof.</summary>
    public static void DeleteUnfinished()
    {
        foreach (var temp in Unfinished.Keys) TryDelete(temp);
    }

    /// <summary>One line for a failed write: the path and the system's reason.</summary>
    public static ProfilerException Failed(string path, Exception e) =>
        e is UnauthorizedAccessException
            ? new ProfilerException(ExitCode.PermissionDenied, $"cannot write {path}: permission denied", e)
            : new ProfilerException(ExitCode.OutputFailed, $"cannot write {path}: {Reason(e)}", e);

    /// <summary>The system's reason without the path .NET appends ("No space left on device : '/x'").</summary>
    public static string Reason(Exception e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" : '", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        return message.TrimEnd('.', ' ');
    }

    public static bool IsWriteFailure(Exception e) => e is IOException or UnauthorizedAccessException;

    static string TemporaryPath(string target) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(target))!, $".{Path.GetFileName(target)}.{Environment.ProcessId}.tmp");

    static string ResolveLinks(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } final ? final.FullName : path;
        }
        catch (IOException) { return path; }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (IsWriteFailure(e)) { /* nothing more can be done about it */ }
    }
}
