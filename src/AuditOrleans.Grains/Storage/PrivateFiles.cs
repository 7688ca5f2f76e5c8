namespace AuditOrleans.Grains.Storage;

/// <summary>
/// Files and directories only the silo's user may read: 0700 directories and 0600 files on
/// Unix, whatever the process umask (the mode is set explicitly after creation, since a umask
/// can only take bits away, and an unusual one could take the owner's too). On Windows the
/// directory's inherited ACL applies and these are plain creates.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupAndOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute |
        UnixFileMode.SetGroup | UnixFileMode.SetUser | UnixFileMode.StickyBit;

    /// <summary>
    /// Creates a directory (and missing parents) with mode 0700. A directory that already exists
    /// is left as it is: it may be shared (e.g. /tmp) and is not ours to change.
    /// </summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return;
        }

        Directory.CreateDirectory(full, DirectoryMode);
        File.SetUnixFileMode(full, DirectoryMode);
    }

    /// <summary>Options that create a file with mode 0600 (on Unix).</summary>
    public static FileStreamOptions StreamOptions(System.IO.FileMode mode, FileAccess access, FileShare share = FileShare.Read, FileOptions options = FileOptions.None)
    {
        var streamOptions = new FileStreamOptions { Mode = mode, Access = access, Share = share, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = FileMode;
        }

        return streamOptions;
    }

    /// <summary>Opens (creating it with mode 0600 if missing) a file for appending.</summary>
    public static FileStream OpenAppend(string path)
    {
        var stream = new FileStream(path, StreamOptions(System.IO.FileMode.Append, FileAccess.Write));
        Tighten(path);
        return stream;
    }

    /// <summary>Creates an empty file with mode 0600 unless it exists; returns true when it created it.</summary>
    public static bool CreateEmpty(string path)
    {
        try
        {
            using (new FileStream(path, StreamOptions(System.IO.FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite)))
            {
            }
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }

        Tighten(path);
        return true;
    }

    /// <summary>
    /// Takes every group and other permission away from an existing file of ours (an older
    /// install, or one created under a looser umask). No-op on Windows or when the file does not
    /// exist; false when the mode could not be changed (the file belongs to someone else).
    /// </summary>
    public static bool Tighten(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupAndOthers) != 0 || (mode & FileMode) != FileMode)
            {
                File.SetUnixFileMode(path, (mode & ~GroupAndOthers) | FileMode);
            }

            return true;
        }
        catch (FileNotFoundException)
        {
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
