; Inno Setup 6 script of Foveal's Windows installer: installs the one-folder bundle dist\foveal\ (built on Windows by
; pyinstaller packaging\foveal.spec) with Start-menu entries, an optional desktop icon and an uninstaller.
; From the repository's top folder, after the bundle is built:
;   iscc /DAppVersion=0.1.0 packaging\windows\foveal.iss      gives dist\foveal-0.1.0-windows-x86_64-setup.exe
; .github/workflows/release.yml does both on a Windows runner, then installs the result and runs it. Paths here are
; relative to this file's folder.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
; The same AppId in every release: a new version installs over the old one and one uninstaller removes it.
AppId={{DF81753F-5F5E-40F2-BD68-037AECE3F196}
AppName=Foveal
AppVersion={#AppVersion}
AppPublisher=Foveal
AppComments=Train image classifiers by transfer learning, without writing code
DefaultDirName={autopf}\Foveal
DefaultGroupName=Foveal
DisableProgramGroupPage=yes
; Many lab computers give no administrator rights: the installer asks whether to install for everyone (needs them)
; or only for this user (does not); `/CURRENTUSER` or `/ALLUSERS` chooses on the command line.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
LicenseFile=..\..\LICENSE
SetupIconFile=..\..\resources\icons\foveal.ico
UninstallDisplayIcon={app}\foveal.exe
UninstallDisplayName=Foveal {#AppVersion}
WizardStyle=modern
OutputDir=..\..\dist
OutputBaseFilename=foveal-{#AppVersion}-windows-x86_64-setup
; TensorFlow is most of the bundle's 1–2 GB: compress it in a separate process, on several threads.
Compression=lzma2
SolidCompression=yes
LZMAUseSeparateProcess=yes
LZMANumBlockThreads=4

[Tasks]
Name: desktopicon; Description: "Create a desktop icon"; Flags: unchecked

[Files]
Source: "..\..\dist\foveal\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion
Source: "..\..\LICENSE"; DestDir: "{app}"; DestName: "LICENSE.txt"; Flags: ignoreversion
Source: "..\..\resources\licenses\*"; DestDir: "{app}\licenses"; Flags: ignoreversion

[Icons]
Name: "{group}\Foveal"; Filename: "{app}\foveal.exe"; Comment: "Train image classifiers without writing code"
; The self-test writes its results to a console window that stays open (started through cmd, which owns it).
Name: "{group}\Check that Foveal works on this computer"; Filename: "{cmd}"; Parameters: "/k """"{app}\foveal.exe"" --self-test"""; WorkingDir: "{app}"
Name: "{group}\Uninstall Foveal"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Foveal"; Filename: "{app}\foveal.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\foveal.exe"; Description: "Start Foveal"; Flags: nowait postinstall skipifsilent
