namespace Profiler.Integration.Tests.Faults;

/// <summary>C programs whose end the fault tests check: they say when they ran to completion.</summary>
static class FaultPrograms
{
    /// <summary>busy SECONDS CODE DONE-FILE: allocates and frees about 200,000 blocks a second,
    /// handles SIGINT and SIGTERM by finishing early, then creates DONE-FILE and exits CODE.</summary>
    public const string Busy = """
        #include <fcntl.h>
        #include <signal.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        static volatile sig_atomic_t stop;
        static void on_signal(int signal) { (void)signal; stop = 1; }

        int main(int argc, char **argv)
        {
            int seconds = atoi(argv[1]), code = atoi(argv[2]);
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_handler = on_signal;
            sigaction(SIGINT, &action, NULL);
            sigaction(SIGTERM, &action, NULL);
            for (int round = 0; round < seconds * 100 && !stop; round++) {
                for (int i = 0; i < 2000; i++) { char *block = malloc(100 + i); block[0] = 1; free(block); }
                usleep(10000);
            }
            close(open(argv[3], O_CREAT | O_WRONLY, 0644));
            return code;
        }
        """;

    /// <summary>Whether any process still runs this executable (an orphan left behind).</summary>
    public static bool AnyProcessRuns(string executable)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0')[0] == executable) return true;
            }
            catch (IOException) { /* gone meanwhile */ }
            catch (UnauthorizedAccessException) { }
        }
        return false;
    }
}
