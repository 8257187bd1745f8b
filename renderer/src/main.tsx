import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ControllerContext, createController } from './controller';
import { createStore, StoreContext } from './store';
import './styles.css';

// The page's one store and controller, handed to components through context.
const store = createStore();
const controller = createController({ store });
controller.init();
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <StoreContext.Provider value={store}>
        <ControllerContext.Provider value={controller}>
          <App />
        </ControllerContext.Provider>
      </StoreContext.Provider>
    </StrictMode>,
  );
}
