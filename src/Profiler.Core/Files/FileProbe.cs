using System.Runtime.InteropServices;

namespace Profiler.Core.Files;

public enum FileType { Missing, Regular, Directory, Other }

/// <summary>What a path names, and which file it is (device and inode), from stat(2): .NET tells
/// neither a FIFO nor a device from a regular file, and opening a FIFO with no writer blocks.</summary>
public readonly record struct FileStatus(FileType Type, ulong Device, ulong Inode)
{
    /// <summary>Whether both name the same existing file (hard links and symlinks included).</summary>
    public bool SameFileAs(FileStatus other) =>
        Type != FileType.Missing && other.Type != FileType.Missing && Device == other.Device && Inode == other.Inode;
}

public static partial class FileProbe
{
    /// <summary>Follows symlinks, as opening the path would.</summary>
    public static FileStatus Stat(string path)
    {
        if (!OperatingSystem.IsLinux()) return Portable(path);
        var buffer = new byte[256];
        if (NativeStat(path, buffer) != 0) return new FileStatus(FileType.Missing, 0, 0);
        // struct stat: st_dev and st_ino first; st_mode after st_nlink on x86-64, before it on arm64.
        int modeOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        uint mode = BitConverter.ToUInt32(buffer, modeOffset);
        var type = (mode & 0xF000) switch { 0x8000 => FileType.Regular, 0x4000 => FileType.Directory, _ => FileType.Other };
        return new FileStatus(type, BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8));
    }

    static FileStatus Portable(string path) =>
        Directory.Exists(path) ? new FileStatus(FileType.Directory, 0, 0)
        : File.Exists(path) ? new FileStatus(FileType.Regular, 0, (ulong)Path.GetFullPath(path).GetHashCode())
        : new FileStatus(FileType.Missing, 0, 0);

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeStat(string path, byte[] buffer);

    /// <summary>An input that must be a regular file: a directory, device, FIFO or socket is
    /// refused before it is opened (a FIFO would block, /dev/zero would never end).</summary>
    public static void RequireRegularFile(string path, string what)
    {
        switch (Stat(path).Type)
        {
            case FileType.Missing:
                throw new ProfilerException(ExitCode.FileNotFound, $"{path}: no such file");
            case FileType.Directory:
                throw new ProfilerException(ExitCode.WrongFileType, $"{path} is a directory, not {what}");
            case FileType.Other:
                throw new ProfilerException(ExitCode.WrongFileType, $"{path} is not a regular file (a device, FIFO or socket), not {what}");
        }
    }
}
