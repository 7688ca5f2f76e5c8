using System.Security.Cryptography;
using System.Text;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>Writes a file only its owner may read (0600 on Unix).</summary>
public static class SecretFile
{
    public static void Write(string path, string content)
    {
        using (var stream = new FileStream(path, PrivateFiles.StreamOptions(FileMode.CreateNew, FileAccess.Write)))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        PrivateFiles.Tighten(path);
    }
}
