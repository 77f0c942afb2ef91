import { APP_VERSION } from "../../../shared/version";

export function App() {
  return (
    <main>
      <h1>Marduk Local</h1>
      <p>Version {APP_VERSION}</p>
    </main>
  );
}
